// The document shell every page shares: head, header with the signed-in member's links, notice.
// No inline style or script anywhere: the CSP allows only /static/gatehouse.css.

import { avatar, csrfInput, type Notice, noticeBox } from './components.ts';
import { html, type SafeHtml } from './html.ts';

export type { Notice } from './components.ts';

export interface ViewUser {
  id: string;
  username: string;
  name: string | null;
  email: string;
  pictureUrl: string | null;
  isAdmin: boolean;
}

export function displayName(user: ViewUser): string {
  return user.name?.trim() || user.username;
}

export interface LayoutProps {
  title: string;
  user: ViewUser | null;
  csrfToken: string;
  body: SafeHtml;
  notice?: Notice | null;
  /** A centred column for short pages (sign in, messages). */
  narrow?: boolean;
  /** Marks the matching header link with aria-current. */
  active?: 'account' | 'admin' | null;
}

function accountNav(user: ViewUser, csrfToken: string, active: LayoutProps['active']): SafeHtml {
  const current = (key: LayoutProps['active']) =>
    active === key ? html` aria-current="page"` : '';
  const name = displayName(user);
  return html`<nav class="site-nav" aria-label="Account">
      <span class="site-nav__user">${avatar({ name, pictureUrl: user.pictureUrl, size: 'sm' })}<span class="site-nav__name" title="${name}">${name}</span></span>
      <ul class="site-nav__links">
        ${user.isAdmin ? html`<li><a class="site-nav__link" href="/admin"${current('admin')}>Admin</a></li>` : ''}
        <li><a class="site-nav__link" href="/account"${current('account')}>Account</a></li>
        <li><form class="inline-form" method="post" action="/logout">${csrfInput(csrfToken)}<button class="button button--quiet button--small" type="submit">Sign out</button></form></li>
      </ul>
    </nav>`;
}

export function layout(p: LayoutProps): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="robots" content="noindex">
<title>${p.title} · Gatehouse</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/gatehouse.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <div class="site-header__inner">
    <a class="brand" href="/"><img class="brand__mark" src="/static/favicon.svg" alt="" width="28" height="28"><span>Gatehouse</span></a>
    ${p.user ? accountNav(p.user, p.csrfToken, p.active ?? null) : ''}
  </div>
</header>
<main id="main" class="main${p.narrow ? ' main--narrow' : ''}" tabindex="-1">
${noticeBox(p.notice)}
${p.body}
</main>
</body>
</html>
`;
}
