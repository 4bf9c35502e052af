import { describe, expect, it } from 'vitest';
import { describeUserAgent, formatDateTime, formatRelative, safeHref } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import {
  accountPage,
  layout,
  loginPage,
  messagePage,
  portalPage,
  registerPage,
  registrationClosedPage,
  type ViewSession,
  type ViewUser,
} from './pages.ts';

// The pages are our own well-formed markup, so a few regular expressions read them reliably.
type Attrs = Record<string, string>;

function parseAttrs(source: string): Attrs {
  const attrs: Attrs = {};
  for (const m of source.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:="([^"]*)")?/g)) {
    attrs[m[1]!.toLowerCase()] = m[2] ?? '';
  }
  return attrs;
}

function tags(page: string, name: string): Attrs[] {
  return [...page.matchAll(new RegExp(`<${name}\\b([^>]*)>`, 'g'))].map((m) => parseAttrs(m[1]!));
}

function text(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The input a visible label (exact text) points at, via `for` = `id`. */
function inputLabelled(page: string, label: string): Attrs {
  const labels = [...page.matchAll(/<label for="([^"]+)">([\s\S]*?)<\/label>/g)].filter(
    (m) => text(m[2]!) === label,
  );
  expect(labels, `one label "${label}"`).toHaveLength(1);
  const inputs = tags(page, 'input').filter((a) => a.id === labels[0]![1]);
  expect(inputs, `one input for label "${label}"`).toHaveLength(1);
  return inputs[0]!;
}

function forms(page: string): Array<{ attrs: Attrs; inner: string }> {
  return [...page.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map((m) => ({
    attrs: parseAttrs(m[1]!),
    inner: m[2]!,
  }));
}

function buttons(page: string): string[] {
  return [...page.matchAll(/<button\b[^>]*>([\s\S]*?)<\/button>/g)].map((m) => text(m[1]!));
}

function elementById(page: string, id: string): string | null {
  const m = page.match(new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`));
  return m ? m[0] : null;
}

const HOSTILE = '"><script>alert(1)</script>';
const ESCAPED = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;';
const UNICODE = 'Zoë Ảnh-Đào 🛠️ 東京';
const CSRF = 'csrf-Tok3n';
const NOW = new Date('2026-11-22T16:40:00Z');
const BODY = html`<h1>Body</h1>`;

const user: ViewUser = {
  id: 'u1',
  username: 'alice',
  name: 'Alice Liddell',
  email: 'alice@example.org',
  pictureUrl: null,
  isAdmin: false,
};

const hostileUser: ViewUser = {
  id: 'u2',
  username: `bob${HOSTILE}`,
  name: `${UNICODE} ${HOSTILE}`,
  email: `bob${HOSTILE}@example.org`,
  pictureUrl: `https://img.example/${HOSTILE}.png`,
  isAdmin: true,
};

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

const sessions: ViewSession[] = [
  {
    id: 'sess-current',
    current: true,
    createdAt: new Date('2026-11-22T11:00:00Z'),
    lastSeenAt: new Date('2026-11-22T16:35:00Z'),
    ip: '192.0.2.10',
    userAgent: CHROME_LINUX,
  },
  {
    id: 'sess-phone',
    current: false,
    createdAt: new Date('2026-11-19T08:05:00Z'),
    lastSeenAt: new Date('2026-11-22T14:40:00Z'),
    ip: '203.0.113.42',
    userAgent: SAFARI_IPHONE,
  },
  {
    id: 'sess-odd',
    current: false,
    createdAt: new Date('2026-11-10T09:00:00Z'),
    lastSeenAt: new Date('2026-11-20T09:00:00Z'),
    ip: null,
    userAgent: `Weird${HOSTILE}`,
  },
];

/** Every page, in its richest state and filled with hostile data wherever a string goes. */
function everyPage(): Record<string, string> {
  const pages: Record<string, SafeHtml> = {
    layout: layout({
      title: HOSTILE,
      user: hostileUser,
      csrfToken: CSRF,
      body: html`<h1>${HOSTILE}</h1>`,
      notice: { kind: 'info', text: HOSTILE },
    }),
    login: loginPage({
      csrfToken: CSRF,
      error: HOSTILE,
      username: HOSTILE,
      returnTo: `/x?a=${HOSTILE}`,
      registrationOpen: true,
      notice: { kind: 'info', text: HOSTILE },
    }),
    register: registerPage({
      csrfToken: CSRF,
      values: { username: HOSTILE, email: HOSTILE, name: `${UNICODE}${HOSTILE}` },
      errors: {
        username: HOSTILE,
        email: HOSTILE,
        name: HOSTILE,
        password: HOSTILE,
        password_confirm: HOSTILE,
        form: HOSTILE,
      },
      invitationToken: HOSTILE,
      title: HOSTILE,
      intro: HOSTILE,
      action: `/setup/${HOSTILE}`,
    }),
    closedInvite: registrationClosedPage({ csrfToken: CSRF, mode: 'invite' }),
    closed: registrationClosedPage({ csrfToken: CSRF, mode: 'closed' }),
    portal: portalPage({
      user: hostileUser,
      csrfToken: CSRF,
      services: [
        {
          name: HOSTILE,
          url: `https://x.example/${HOSTILE}`,
          logoUrl: `https://x.example/${HOSTILE}`,
          description: HOSTILE,
        },
        { name: UNICODE, url: 'javascript:alert(1)', logoUrl: null },
      ],
      notice: { kind: 'success', text: HOSTILE },
    }),
    portalEmpty: portalPage({ user: hostileUser, csrfToken: CSRF, services: [] }),
    account: accountPage({
      user: hostileUser,
      csrfToken: CSRF,
      sessions,
      now: NOW,
      notice: { kind: 'error', text: HOSTILE },
      errors: {
        name: HOSTILE,
        email: HOSTILE,
        picture_url: HOSTILE,
        current_password: HOSTILE,
        new_password: HOSTILE,
        new_password_confirm: HOSTILE,
        other: HOSTILE,
      },
    }),
    message: messagePage({
      title: HOSTILE,
      message: HOSTILE,
      user: hostileUser,
      csrfToken: CSRF,
      status: 403,
      action: { href: `/${HOSTILE}`, label: HOSTILE },
    }),
  };
  return Object.fromEntries(Object.entries(pages).map(([k, v]) => [k, v.value]));
}

describe('every page', () => {
  const pages = everyPage();

  for (const [name, page] of Object.entries(pages)) {
    describe(name, () => {
      it('is a complete English document linking the stylesheet and favicon', () => {
        expect(page.startsWith('<!doctype html>')).toBe(true);
        expect(page).toContain('<html lang="en">');
        expect(page).toContain('<link rel="stylesheet" href="/static/gatehouse.css">');
        expect(page).toContain('<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">');
        expect(tags(page, 'h1')).toHaveLength(1);
      });

      it('has no script, no style attribute and no inline style element (CSP)', () => {
        expect(page).not.toMatch(/<script/i);
        expect(page).not.toMatch(/\sstyle\s*=/i);
        expect(page).not.toMatch(/<style/i);
        expect(page).not.toMatch(/\son[a-z]+\s*=/i);
        expect(page).not.toMatch(/javascript:/i);
      });

      it('never contains a hostile value unescaped', () => {
        expect(page).not.toContain(HOSTILE);
        expect(page).not.toContain('<script>alert(1)</script>');
      });

      it('gives every form POST and a _csrf input with the token', () => {
        for (const form of forms(page)) {
          expect(form.attrs.method).toBe('post');
          const csrf = tags(form.inner, 'input').filter((a) => a.name === '_csrf');
          expect(csrf).toEqual([{ type: 'hidden', name: '_csrf', value: CSRF }]);
        }
      });

      it('labels every visible input with a label for= its unique id', () => {
        const ids = tags(page, '[a-z0-9]+')
          .map((a) => a.id)
          .filter(Boolean);
        expect(new Set(ids).size).toBe(ids.length);
        const labelTargets = tags(page, 'label').map((a) => a.for);
        for (const target of labelTargets) expect(ids).toContain(target);
        for (const input of tags(page, 'input')) {
          if (input.type === 'hidden' || 'hidden' in input) continue;
          expect(labelTargets, `label for ${input.name}`).toContain(input.id);
        }
      });

      it('points every aria-describedby and aria-labelledby at an element on the page', () => {
        for (const attr of ['aria-describedby', 'aria-labelledby']) {
          for (const el of tags(page, '[a-z0-9]+').filter((a) => attr in a)) {
            for (const id of el[attr]!.split(' ')) expect(elementById(page, id), id).not.toBeNull();
          }
        }
      });
    });
  }

  it('escapes hostile values wherever they are shown', () => {
    expect(pages.layout).toContain(`<title>${ESCAPED} · Gatehouse</title>`);
    expect(pages.login).toContain(`value="${ESCAPED}"`);
    expect(pages.login).toContain(`<p>${ESCAPED}</p>`);
    expect(pages.register).toContain(`action="/setup/${ESCAPED}"`);
    expect(pages.register).toContain(`name="invitation" value="${ESCAPED}"`);
    expect(pages.portal).toContain(`<span class="tile__name">${ESCAPED}</span>`);
    expect(pages.account).toContain(`title="Weird${ESCAPED}"`);
    expect(pages.account).toContain(`value="bob${ESCAPED}@example.org"`);
    expect(pages.message).toContain(`href="/${ESCAPED}"`);
  });

  it('keeps unicode as it is', () => {
    expect(pages.portal).toContain(`Hello, ${UNICODE} ${ESCAPED}`);
    expect(pages.register).toContain(`value="${UNICODE}${ESCAPED}"`);
    expect(pages.portal).toContain('<span class="tile__name">Zoë Ảnh-Đào 🛠️ 東京</span>');
  });
});

describe('layout', () => {
  it('shows the signed-in member, Account and a POST Sign out form', () => {
    const page = layout({ title: 'T', user, csrfToken: CSRF, body: BODY }).value;
    expect(page).toContain('Alice Liddell');
    expect(page).toContain('<a class="site-nav__link" href="/account">Account</a>');
    const logout = forms(page).find((f) => f.attrs.action === '/logout');
    expect(logout).toBeDefined();
    expect(buttons(logout!.inner)).toEqual(['Sign out']);
    expect(page).not.toContain('href="/logout"');
    expect(page).not.toContain('href="/admin"');
  });

  it('has no account links when nobody is signed in', () => {
    const page = loginPage({ csrfToken: CSRF, registrationOpen: false }).value;
    expect(page).toContain('Gatehouse');
    expect(page).not.toContain('/logout');
    expect(page).not.toContain('href="/account"');
  });

  it('announces errors as alerts and confirmations as status', () => {
    const err = layout({
      title: 'T',
      user: null,
      csrfToken: CSRF,
      body: BODY,
      notice: { kind: 'error', text: 'Bad' },
    }).value;
    expect(err).toMatch(/<div class="alert alert--error" role="alert">.*<p>Bad<\/p>/);
    const ok = layout({
      title: 'T',
      user: null,
      csrfToken: CSRF,
      body: BODY,
      notice: { kind: 'success', text: 'Saved' },
    }).value;
    expect(ok).toMatch(/<div class="alert alert--success" role="status">.*<p>Saved<\/p>/);
  });
});

describe('loginPage', () => {
  it('has the exact fields, autocomplete and button', () => {
    const page = loginPage({ csrfToken: CSRF, registrationOpen: true }).value;
    const [form] = forms(page);
    expect(form!.attrs.action).toBe('/login');
    expect(inputLabelled(page, 'Username or email')).toMatchObject({
      name: 'username',
      autocomplete: 'username',
    });
    expect(inputLabelled(page, 'Password')).toMatchObject({
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
    });
    expect(buttons(page)).toEqual(['Sign in']);
    expect(page).toContain('<a href="/register">Create an account</a>');
  });

  it('hides the sign-up link when registration is not open', () => {
    expect(loginPage({ csrfToken: CSRF, registrationOpen: false }).value).not.toContain(
      '/register',
    );
  });

  it('carries returnTo in a hidden return_to input, escaped', () => {
    const page = loginPage({
      csrfToken: CSRF,
      registrationOpen: false,
      returnTo: '/authorize?client_id=a&state=b',
    }).value;
    const [form] = forms(page);
    expect(tags(form!.inner, 'input').find((a) => a.name === 'return_to')).toEqual({
      type: 'hidden',
      name: 'return_to',
      value: '/authorize?client_id=a&amp;state=b',
    });
    expect(loginPage({ csrfToken: CSRF, registrationOpen: false }).value).not.toContain(
      'return_to',
    );
  });

  it('keeps the username and links the error to both fields', () => {
    const page = loginPage({
      csrfToken: CSRF,
      registrationOpen: false,
      error: 'Wrong password',
      username: 'alice',
    }).value;
    expect(inputLabelled(page, 'Username or email').value).toBe('alice');
    expect(elementById(page, 'login-error')).toMatch(/role="alert"[\s\S]*Wrong password/);
    expect(inputLabelled(page, 'Password')['aria-describedby']).toBe('login-error');
    expect(inputLabelled(page, 'Username or email')['aria-describedby']).toBe('login-error');
  });
});

describe('registerPage', () => {
  it('has the exact fields, autocomplete, hint and button', () => {
    const page = registerPage({ csrfToken: CSRF }).value;
    expect(forms(page)[0]!.attrs.action).toBe('/register');
    expect(tags(page, 'h1')).toHaveLength(1);
    expect(page).toContain('Create your account</h1>');
    expect(inputLabelled(page, 'Username')).toMatchObject({
      name: 'username',
      autocomplete: 'username',
    });
    expect(inputLabelled(page, 'Email')).toMatchObject({
      name: 'email',
      type: 'email',
      autocomplete: 'email',
    });
    const name = inputLabelled(page, 'Display name');
    expect(name).toMatchObject({ name: 'name', autocomplete: 'name' });
    expect('required' in name).toBe(false);
    const password = inputLabelled(page, 'Password');
    expect(password).toMatchObject({
      name: 'password',
      type: 'password',
      autocomplete: 'new-password',
    });
    expect(elementById(page, password['aria-describedby']!)).toContain('At least 10 characters');
    expect(inputLabelled(page, 'Confirm password')).toMatchObject({
      name: 'password_confirm',
      autocomplete: 'new-password',
    });
    expect(buttons(page)).toEqual(['Create account']);
    expect(page).not.toContain('name="invitation"');
  });

  it('shows each error at its field, as an alert the field describes', () => {
    const page = registerPage({
      csrfToken: CSRF,
      values: { username: 'al', email: 'al@example.org' },
      errors: {
        username: 'That username is taken.',
        password_confirm: 'The passwords do not match.',
      },
    }).value;
    const username = inputLabelled(page, 'Username');
    expect(username.value).toBe('al');
    expect(username['aria-invalid']).toBe('true');
    const errorId = username['aria-describedby']!.split(' ').find((id) => id.endsWith('-error'))!;
    expect(elementById(page, errorId)).toMatch(/role="alert">That username is taken\.</);
    expect(inputLabelled(page, 'Confirm password')['aria-describedby']).toContain('-error');
    expect(inputLabelled(page, 'Email')['aria-invalid']).toBeUndefined();
    expect(inputLabelled(page, 'Password').value).toBeUndefined();
  });

  it('serves the first-administrator setup with its own title, intro and action', () => {
    const page = registerPage({
      csrfToken: CSRF,
      title: 'Create the first administrator',
      intro: 'Nobody has an account yet.',
      action: '/setup/tok123',
      invitationToken: 'inv1',
    }).value;
    expect(page).toContain('Create the first administrator</h1>');
    expect(page).toContain('<title>Create the first administrator · Gatehouse</title>');
    expect(page).toContain('Nobody has an account yet.');
    expect(forms(page)[0]!.attrs.action).toBe('/setup/tok123');
    expect(page).toContain('<input type="hidden" name="invitation" value="inv1">');
  });

  it('shows errors for unknown keys above the form instead of dropping them', () => {
    const page = registerPage({
      csrfToken: CSRF,
      errors: { form: 'This invitation has expired.' },
    }).value;
    expect(elementById(page, 'register-error')).toMatch(
      /role="alert"[\s\S]*This invitation has expired\./,
    );
  });
});

describe('registrationClosedPage', () => {
  it('explains invitation-only and closed sign-ups', () => {
    expect(registrationClosedPage({ csrfToken: CSRF, mode: 'invite' }).value).toContain(
      'by invitation',
    );
    expect(registrationClosedPage({ csrfToken: CSRF, mode: 'closed' }).value).toContain(
      'Registration is closed',
    );
  });
});

describe('portalPage', () => {
  it('greets the member and shows a tile per service, with a letter when there is no logo', () => {
    const page = portalPage({
      user,
      csrfToken: CSRF,
      services: [
        {
          name: 'Wiki',
          url: 'https://wiki.example',
          logoUrl: 'https://wiki.example/logo.png',
          description: 'Notes',
        },
        { name: 'laser', url: 'https://laser.example/book', logoUrl: null },
      ],
    }).value;
    expect(page).toContain('Hello, Alice Liddell');
    expect(page).toContain('href="https://wiki.example"');
    expect(page).toContain('src="https://wiki.example/logo.png"');
    expect(page).toMatch(
      /<span class="avatar avatar--lg avatar--c\d" aria-hidden="true">L<\/span>/,
    );
    expect(page).toContain('laser.example');
    expect(page).not.toContain('No services yet');
  });

  it('shows a friendly empty state', () => {
    const page = portalPage({ user, csrfToken: CSRF, services: [] }).value;
    expect(page).toContain('No services yet');
    expect(page).toContain('An administrator adds');
  });

  it('does not link to a service URL that is not http(s)', () => {
    const page = portalPage({
      user,
      csrfToken: CSRF,
      services: [
        { name: 'Evil', url: 'javascript:alert(1)', logoUrl: 'http://insecure.example/x.png' },
      ],
    }).value;
    expect(page).not.toContain('javascript:');
    expect(page).not.toContain('http://insecure.example');
    expect(page).toContain('Evil');
  });
});

describe('accountPage', () => {
  const page = accountPage({
    user,
    csrfToken: CSRF,
    sessions,
    now: NOW,
    errors: { email: 'Enter a valid email.' },
  }).value;

  it('has Profile, Password and Sessions sections labelled by their headings', () => {
    for (const [id, title] of [
      ['profile-heading', 'Profile'],
      ['password-heading', 'Password'],
      ['sessions-heading', 'Sessions'],
    ]) {
      expect(page).toContain(`<section class="panel`);
      expect(page).toMatch(new RegExp(`<section [^>]*aria-labelledby="${id}"`));
      expect(page).toContain(`id="${id}">${title}</h2>`);
    }
  });

  it('has the profile form with the exact labels, the username read-only, and its button', () => {
    const profile = forms(page).find((f) => f.attrs.action === '/account/profile')!;
    expect(inputLabelled(profile.inner, 'Display name')).toMatchObject({
      name: 'name',
      value: 'Alice Liddell',
      autocomplete: 'name',
    });
    expect(inputLabelled(profile.inner, 'Email')).toMatchObject({
      name: 'email',
      value: 'alice@example.org',
      autocomplete: 'email',
    });
    expect(inputLabelled(profile.inner, 'Picture URL')).toMatchObject({
      name: 'picture_url',
      type: 'url',
    });
    expect(tags(profile.inner, 'input').some((a) => a.name === 'username')).toBe(false);
    expect(text(profile.inner)).toContain('Username alice');
    expect(buttons(profile.inner)).toEqual(['Save profile']);
  });

  it('shows a field error at that field', () => {
    const email = inputLabelled(page, 'Email');
    expect(email['aria-invalid']).toBe('true');
    expect(elementById(page, email['aria-describedby']!)).toMatch(
      /role="alert">Enter a valid email\.</,
    );
  });

  it('has the password form with the exact labels, autocomplete, note and button', () => {
    const form = forms(page).find((f) => f.attrs.action === '/account/password')!;
    expect(inputLabelled(form.inner, 'Current password')).toMatchObject({
      name: 'current_password',
      autocomplete: 'current-password',
    });
    expect(inputLabelled(form.inner, 'New password')).toMatchObject({
      name: 'new_password',
      autocomplete: 'new-password',
    });
    expect(inputLabelled(form.inner, 'Confirm new password')).toMatchObject({
      name: 'new_password_confirm',
      autocomplete: 'new-password',
    });
    expect(buttons(form.inner)).toEqual(['Change password']);
    expect(page).toContain('Other sessions will be signed out.');
  });

  it('lists sessions with device, raw user agent, IP and fixed-format times', () => {
    expect(page).toContain(`title="${CHROME_LINUX}">Chrome on Linux</span>`);
    expect(page).toContain('Safari on iPhone');
    expect(page).toContain('203.0.113.42');
    expect(page).toContain('<time datetime="2026-11-19T08:05:00.000Z">2026-11-19 08:05 UTC</time>');
    expect(page).toContain('<time datetime="2026-11-22T14:40:00.000Z">2026-11-22 14:40 UTC</time>');
    expect(page).toContain('2 hours ago');
    expect(page).toContain('5 minutes ago');
    expect((page.match(/This device/g) ?? []).length).toBe(1);
  });

  it('offers a POST sign-out per other session, named after the session, and none for this one', () => {
    const revokes = forms(page).filter((f) =>
      /^\/account\/sessions\/[^/]+\/revoke$/.test(f.attrs.action!),
    );
    expect(revokes.map((f) => f.attrs.action)).toEqual([
      '/account/sessions/sess-phone/revoke',
      '/account/sessions/sess-odd/revoke',
    ]);
    const [label] = buttons(revokes[0]!.inner);
    expect(label).toMatch(
      /^Sign out session: Safari on iPhone, 203\.0\.113\.42, last active 2 hours ago$/,
    );
    expect(revokes[0]!.inner).toContain('<span class="visually-hidden">');
    const others = forms(page).find((f) => f.attrs.action === '/account/sessions/revoke-others')!;
    expect(buttons(others.inner)).toEqual(['Sign out all other sessions']);
  });

  it('has no "sign out all other sessions" when this is the only session', () => {
    const only = accountPage({ user, csrfToken: CSRF, sessions: [sessions[0]!], now: NOW }).value;
    expect(only).not.toContain('revoke-others');
    expect(only).not.toContain('/revoke');
  });
});

describe('messagePage', () => {
  it('shows title, message, status and an action link', () => {
    const page = messagePage({
      title: 'You have been signed out',
      message: 'See you soon.',
      user: null,
      csrfToken: CSRF,
      action: { href: '/login', label: 'Sign in again' },
    }).value;
    expect(page).toContain('You have been signed out</h1>');
    expect(page).toContain('See you soon.');
    expect(page).toContain('href="/login">Sign in again</a>');
    expect(page).not.toContain('Error');
    const tooMany = messagePage({
      title: 'Too many attempts',
      message: 'Wait.',
      user: null,
      csrfToken: CSRF,
      status: 429,
    }).value;
    expect(tooMany).toContain('Error 429');
  });
});

describe('formatting', () => {
  it('formats dates in UTC with a fixed pattern', () => {
    expect(formatDateTime(new Date('2026-11-22T16:40:59Z'))).toBe('2026-11-22 16:40 UTC');
    expect(formatDateTime(new Date('2026-01-02T03:04:00+05:00'))).toBe('2026-01-01 22:04 UTC');
  });

  it('formats relative times', () => {
    const at = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000);
    expect(formatRelative(at(0.5), NOW)).toBe('just now');
    expect(formatRelative(at(1), NOW)).toBe('1 minute ago');
    expect(formatRelative(at(5), NOW)).toBe('5 minutes ago');
    expect(formatRelative(at(60 * 3), NOW)).toBe('3 hours ago');
    expect(formatRelative(at(60 * 30), NOW)).toBe('yesterday');
    expect(formatRelative(at(60 * 24 * 4), NOW)).toBe('4 days ago');
    expect(formatRelative(at(60 * 24 * 60), NOW)).toBe('2026-09-23 16:40 UTC');
  });

  it('summarises user agents', () => {
    expect(describeUserAgent(CHROME_LINUX)).toBe('Chrome on Linux');
    expect(describeUserAgent(SAFARI_IPHONE)).toBe('Safari on iPhone');
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
      ),
    ).toBe('Firefox on Windows');
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
      ),
    ).toBe('Edge on macOS');
    expect(
      describeUserAgent(
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
      ),
    ).toBe('Chrome on Android');
    expect(describeUserAgent('curl/8.5.0')).toBe('curl');
    expect(describeUserAgent(null)).toBe('Unknown device');
  });

  it('only links http(s) URLs and local paths', () => {
    expect(safeHref('https://a.example/')).toBe('https://a.example/');
    expect(safeHref('/account')).toBe('/account');
    expect(safeHref('//evil.example')).toBeNull();
    expect(safeHref('/\\evil.example/phish')).toBeNull();
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref(' JavaScript:alert(1)')).toBeNull();
  });
});
