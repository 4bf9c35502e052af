// Signing in and signing up: short pages in a centred card.

import { alertBox, csrfInput, field, formErrors, type Notice } from './components.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './layout.ts';

export interface LoginPageProps {
  csrfToken: string;
  error?: string | null;
  username?: string;
  returnTo?: string | null;
  registrationOpen: boolean;
  notice?: Notice | null;
}

export function loginPage(p: LoginPageProps): SafeHtml {
  const errorId = p.error ? 'login-error' : null;
  const body = html`<div class="card card--auth">
  <h1 class="card__title">Sign in</h1>
  <p class="card__intro">Welcome back. One account opens every service your community runs.</p>
  ${p.error ? alertBox('error', [p.error], 'login-error') : ''}
  <form class="form" method="post" action="/login">
    ${csrfInput(p.csrfToken)}
    ${p.returnTo ? html`<input type="hidden" name="return_to" value="${p.returnTo}">` : ''}
    ${field({ id: 'login-username', name: 'username', label: 'Username or email', value: p.username, autocomplete: 'username', required: true, verbatim: true, describedBy: errorId })}
    ${field({ id: 'login-password', name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true, describedBy: errorId })}
    <button class="button button--primary button--block" type="submit">Sign in</button>
  </form>
  ${p.registrationOpen ? html`<p class="card__footer">New here? <a href="/register">Create an account</a></p>` : ''}
</div>`;
  return layout({
    title: 'Sign in',
    user: null,
    csrfToken: p.csrfToken,
    body,
    notice: p.notice ?? null,
    narrow: true,
  });
}

export interface RegisterPageProps {
  csrfToken: string;
  errors?: Record<string, string>;
  values?: { username?: string; email?: string; name?: string };
  invitationToken?: string | null;
  /** Defaults to "Create your account"; the first-administrator setup reuses this page. */
  title?: string;
  intro?: string;
  /** Defaults to "/register". */
  action?: string;
}

const REGISTER_FIELDS = ['username', 'email', 'name', 'password', 'password_confirm'] as const;

export function registerPage(p: RegisterPageProps): SafeHtml {
  const title = p.title ?? 'Create your account';
  const action = p.action ?? '/register';
  const errors = p.errors ?? {};
  const values = p.values ?? {};
  const general = formErrors(p.errors, REGISTER_FIELDS, 'register-error');
  const body = html`<div class="card card--auth">
  <h1 class="card__title">${title}</h1>
  <p class="card__intro">${p.intro ?? 'One account opens every service your community runs.'}</p>
  ${general.markup}
  <form class="form" method="post" action="${action}">
    ${csrfInput(p.csrfToken)}
    ${p.invitationToken ? html`<input type="hidden" name="invitation" value="${p.invitationToken}">` : ''}
    ${field({ id: 'register-username', name: 'username', label: 'Username', value: values.username, autocomplete: 'username', required: true, verbatim: true, hint: 'You sign in with it; it cannot be changed later.', error: errors.username, describedBy: general.id })}
    ${field({ id: 'register-email', name: 'email', label: 'Email', type: 'email', value: values.email, autocomplete: 'email', required: true, verbatim: true, error: errors.email })}
    ${field({ id: 'register-name', name: 'name', label: 'Display name', value: values.name, autocomplete: 'name', optional: true, hint: 'How other members see you.', error: errors.name })}
    ${field({ id: 'register-password', name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 10 characters', error: errors.password })}
    ${field({ id: 'register-password-confirm', name: 'password_confirm', label: 'Confirm password', type: 'password', autocomplete: 'new-password', required: true, error: errors.password_confirm })}
    <button class="button button--primary button--block" type="submit">Create account</button>
  </form>
  ${action === '/register' ? html`<p class="card__footer">Already have an account? <a href="/login">Sign in</a></p>` : ''}
</div>`;
  return layout({ title, user: null, csrfToken: p.csrfToken, body, narrow: true });
}

export function registrationClosedPage(p: {
  csrfToken: string;
  mode: 'closed' | 'invite';
}): SafeHtml {
  const [title, text] =
    p.mode === 'invite'
      ? [
          'Sign-ups are by invitation',
          'New accounts are created from an invitation link. Ask a member or an administrator to invite you, then open the link they send to create your account.',
        ]
      : [
          'Registration is closed',
          'This Gatehouse does not accept new sign-ups. If you should have an account, ask an administrator to create one for you.',
        ];
  const body = html`<div class="card card--auth">
  <h1 class="card__title">${title}</h1>
  <p class="card__intro">${text}</p>
  <p class="card__footer">Already have an account? <a href="/login">Sign in</a></p>
</div>`;
  return layout({ title, user: null, csrfToken: p.csrfToken, body, narrow: true });
}

/** The page a one-time set-password link opens (users created by an operator without one). */
export function setPasswordPage(p: {
  csrfToken: string;
  action: string;
  username: string;
  errors?: Record<string, string>;
}): SafeHtml {
  const errors = p.errors ?? {};
  const general = formErrors(p.errors, ['password', 'password_confirm'], 'set-password-error');
  const body = html`<div class="card card--auth">
  <h1 class="card__title">Choose your password</h1>
  <p class="card__intro">Set a password for <strong>${p.username}</strong>. You sign in with it from now on.</p>
  ${general.markup}
  <form class="form" method="post" action="${p.action}">
    ${csrfInput(p.csrfToken)}
    <input type="text" name="username" value="${p.username}" autocomplete="username" hidden>
    ${field({ id: 'set-password', name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 10 characters', error: errors.password, describedBy: general.id })}
    ${field({ id: 'set-password-confirm', name: 'password_confirm', label: 'Confirm password', type: 'password', autocomplete: 'new-password', required: true, error: errors.password_confirm })}
    <button class="button button--primary button--block" type="submit">Set password</button>
  </form>
</div>`;
  return layout({
    title: 'Choose your password',
    user: null,
    csrfToken: p.csrfToken,
    body,
    narrow: true,
  });
}
