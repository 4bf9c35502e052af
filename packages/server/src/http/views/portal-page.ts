// The portal at "/": the services a member can open with their Gatehouse account.

import { avatar, type Notice } from './components.ts';
import { hostOf, safeHref } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { displayName, layout, type ViewUser } from './layout.ts';

export interface ViewService {
  name: string;
  url: string;
  logoUrl: string | null;
  description?: string | null;
}

function tile(service: ViewService): SafeHtml {
  const href = safeHref(service.url);
  const host = hostOf(service.url);
  const inner = html`${avatar({ name: service.name, pictureUrl: service.logoUrl, size: 'lg' })}
      <span class="tile__text">
        <span class="tile__name">${service.name}</span>
        ${service.description ? html`<span class="tile__description">${service.description}</span>` : ''}
        ${host ? html`<span class="tile__host" title="${host}">${host}</span>` : ''}
      </span>`;
  // A URL we will not link to (not http/https) still shows, so the member can tell an admin.
  return href
    ? html`<li><a class="tile" href="${href}">${inner}</a></li>`
    : html`<li><div class="tile tile--disabled">${inner}</div></li>`;
}

export function portalPage(p: {
  user: ViewUser;
  csrfToken: string;
  services: ViewService[];
  notice?: Notice | null;
}): SafeHtml {
  const services =
    p.services.length > 0
      ? html`<ul class="tiles">${p.services.map(tile)}</ul>`
      : html`<div class="empty">
    <img class="empty__mark" src="/static/favicon.svg" alt="" width="48" height="48">
    <h3 class="empty__title">No services yet</h3>
    <p class="empty__text">An administrator adds the community's services to Gatehouse. Once they do, they will appear here, ready to open with this account.</p>
    ${p.user.isAdmin ? html`<p class="empty__action"><a class="button button--secondary" href="/admin">Go to administration</a></p>` : ''}
  </div>`;
  const body = html`<div class="page-head">
  <h1 class="page-head__title">Hello, ${displayName(p.user)}</h1>
  <p class="page-head__intro">Open any of your community's services. You are already signed in to all of them.</p>
</div>
<section class="section" aria-labelledby="services-heading">
  <h2 class="section__title" id="services-heading">Your services</h2>
  ${services}
</section>`;
  return layout({
    title: 'Your services',
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    notice: p.notice ?? null,
  });
}
