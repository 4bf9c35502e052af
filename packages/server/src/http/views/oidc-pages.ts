// Pages of the sign-in flow for OIDC clients: consent, and the pages oidc-provider renders
// itself (sign-out confirmation, device code entry) in Gatehouse's look.

import { avatar, csrfInput } from './components.ts';
import { html, raw, type SafeHtml } from './html.ts';
import { layout, type ViewUser } from './layout.ts';
import { messagePage } from './message-page.ts';

/** What each scope shares, in plain words. */
export const SCOPE_WORDS: Record<string, string> = {
  openid: 'Know who you are (your Gatehouse account id)',
  profile: 'Your name, username and picture',
  email: 'Your email address',
  groups: 'The groups you belong to',
  offline_access: 'Keep you signed in while you are away',
};

export function consentPage(p: {
  user: ViewUser;
  csrfToken: string;
  uid: string;
  clientName: string;
  logoUri: string | null;
  scopes: string[];
  /** Services the client asks tokens for (resource indicators): it can act there as you. */
  resources?: string[];
}): SafeHtml {
  const items = [
    ...p.scopes.map((s) => html`<li>${SCOPE_WORDS[s] ?? s}</li>`),
    ...(p.resources ?? []).map(
      (r) => html`<li>Use <strong class="consent__resource">${r}</strong> as you</li>`,
    ),
  ];
  const body = html`<div class="card card--auth">
  <div class="consent__client">${avatar({ name: p.clientName, pictureUrl: p.logoUri, size: 'lg' })}</div>
  <h1 class="card__title">${p.clientName} wants to use your Gatehouse account</h1>
  <p class="card__intro">If you allow it, ${p.clientName} will be able to:</p>
  <ul class="consent__scopes">${items}</ul>
  <p class="card__intro">Gatehouse remembers your answer, so you are asked only once.</p>
  <div class="card__actions consent__actions">
    <form class="inline-form" method="post" action="/oidc/interaction/${p.uid}/consent">
      ${csrfInput(p.csrfToken)}
      <button class="button button--primary" type="submit" name="decision" value="allow">Allow</button>
    </form>
    <form class="inline-form" method="post" action="/oidc/interaction/${p.uid}/consent">
      ${csrfInput(p.csrfToken)}
      <button class="button button--secondary" type="submit" name="decision" value="deny">Deny</button>
    </form>
  </div>
</div>`;
  return layout({
    title: `Allow ${p.clientName}?`,
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    narrow: true,
  });
}

/** The provider's forms carry their own anti-forgery field (xsrf); buttons point at them by id. */
export function logoutConfirmPage(form: string, clientName: string | null): SafeHtml {
  const body = html`<div class="card card--auth card--message">
  <h1 class="card__title">Sign out?</h1>
  <p class="card__intro">${clientName ? `${clientName} asks to sign you out.` : 'A service asks to sign you out.'} Signing out ends your Gatehouse session and every service you opened with it.</p>
  ${raw(form)}
  <div class="card__actions consent__actions">
    <button class="button button--primary" type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
    <button class="button button--secondary" type="submit" form="op.logoutForm">Stay signed in</button>
  </div>
</div>`;
  return layout({ title: 'Sign out?', user: null, csrfToken: '', body, narrow: true });
}

export function loggedOutPage(clientName: string | null, stillSignedIn: boolean): SafeHtml {
  if (stillSignedIn) {
    return messagePage({
      title: clientName ? `You are signed out of ${clientName}` : 'You are still signed in',
      message: clientName
        ? `You have been signed out of ${clientName}. You are still signed in to Gatehouse in this browser.`
        : 'Nothing was signed out: you are still signed in to Gatehouse in this browser.',
      user: null,
      csrfToken: '',
      action: { href: '/account', label: 'Go to your account' },
    });
  }
  return messagePage({
    title: 'You are signed out',
    message: 'You have been signed out of Gatehouse and the services you opened with it.',
    user: null,
    csrfToken: '',
    action: { href: '/login', label: 'Sign in again' },
  });
}

export function deviceInputPage(form: string, error: string | null): SafeHtml {
  // The provider's form holds the code input; it gains our id and class so the label and the
  // styles reach it, and loses its inline onfocus handler, which our CSP would refuse to run.
  const labelled = form
    .replace(
      'name="user_code" placeholder="Enter code"',
      `name="user_code" id="user-code" class="input input--code" autocapitalize="characters" spellcheck="false"${error ? ' aria-invalid="true" aria-describedby="user-code-error"' : ''}`,
    )
    .replace(/ onfocus="[^"]*"/, '');
  const body = html`<div class="card card--auth">
  <h1 class="card__title">Connect a device</h1>
  <p class="card__intro">Enter the code your device or command-line tool shows.</p>
  ${error ? html`<div class="alert alert--error" id="user-code-error" role="alert"><div class="alert__body"><p>${error}</p></div></div>` : ''}
  <div class="field">
    <div class="field__head"><label for="user-code">Code</label></div>
    ${raw(labelled)}
  </div>
  <button class="button button--primary button--block" type="submit" form="op.deviceInputForm">Continue</button>
</div>`;
  return layout({ title: 'Connect a device', user: null, csrfToken: '', body, narrow: true });
}

export function deviceConfirmPage(form: string, clientName: string, userCode: string): SafeHtml {
  const body = html`<div class="card card--auth">
  <h1 class="card__title">Connect ${clientName}?</h1>
  <p class="card__intro">Check that your device shows this code:</p>
  <p class="device-code"><code>${userCode}</code></p>
  ${raw(form)}
  <div class="card__actions consent__actions">
    <button class="button button--primary" type="submit" form="op.deviceConfirmForm">Continue</button>
    <button class="button button--secondary" type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Cancel</button>
  </div>
</div>`;
  return layout({ title: `Connect ${clientName}?`, user: null, csrfToken: '', body, narrow: true });
}

export function deviceDonePage(clientName: string): SafeHtml {
  return messagePage({
    title: 'Device connected',
    message: `${clientName} is now signed in. You can close this page and return to your device.`,
    user: null,
    csrfToken: '',
  });
}
