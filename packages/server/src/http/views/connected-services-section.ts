// The "Connected services" section of /account: the services outside the community that the
// member allowed to use their account, what each may see, and a button to take it back. A
// plain form per service, no script.

import { avatar, csrfInput } from './components.ts';
import { formatDateTime } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { SCOPE_WORDS } from './oidc-pages.ts';

export interface ViewConnectedService {
  clientId: string;
  name: string;
  logoUri: string | null;
  scopes: string[];
  allowedAt: Date;
}

function serviceRow(s: ViewConnectedService, csrfToken: string): SafeHtml {
  return html`<tr class="service">
      <th scope="row" class="session__device" data-label="Service">
        <span class="service__name">${avatar({ name: s.name, pictureUrl: s.logoUri, size: 'sm' })}<span>${s.name}</span></span>
      </th>
      <td data-label="Can see"><ul class="service__scopes">${s.scopes.map((scope) => html`<li>${SCOPE_WORDS[scope] ?? scope}</li>`)}</ul></td>
      <td data-label="Allowed"><span class="session__time"><time datetime="${s.allowedAt.toISOString()}">${formatDateTime(s.allowedAt)}</time></span></td>
      <td class="session__action"><form class="inline-form" method="post" action="/account/services/${s.clientId}/revoke">
          ${csrfInput(csrfToken)}
          <button class="button button--secondary button--small" type="submit">Remove access<span class="visually-hidden"> for ${s.name}</span></button>
        </form></td>
    </tr>`;
}

export function connectedServicesSection(p: {
  services: ViewConnectedService[];
  csrfToken: string;
}): SafeHtml {
  return html`<section class="panel panel--wide" aria-labelledby="services-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="services-heading">Connected services</h2>
    <p class="panel__intro">Services you allowed to use your Gatehouse account, and what each can see. Removing access takes back the service's sign-in and tokens; it asks again the next time you use it. Services your community runs itself don't ask, and aren't listed here.</p>
  </div>
  ${
    p.services.length === 0
      ? html`<p class="muted">You have not allowed any services.</p>`
      : html`<div class="table-wrap"><table class="sessions">
    <caption class="visually-hidden">Services with access to your account</caption>
    <thead><tr>
      <th scope="col">Service</th>
      <th scope="col">Can see</th>
      <th scope="col">Allowed</th>
      <th scope="col"><span class="visually-hidden">Actions</span></th>
    </tr></thead>
    <tbody>
    ${p.services.map((s) => serviceRow(s, p.csrfToken))}
    </tbody>
  </table></div>`
  }
</section>`;
}
