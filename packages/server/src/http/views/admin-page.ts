// /admin: the administrators' view of every group tree, with a form to create a group anywhere.

import { csrfInput, field, type Notice } from './components.ts';
import type { ViewGroup } from './groups-pages.ts';
import { html, type SafeHtml } from './html.ts';
import { layout, type ViewUser } from './layout.ts';

export interface AdminGroup extends ViewGroup {
  members: number;
  includes: string[];
}

/** /admin: every group tree, and a form to create a group anywhere. */
export function adminPage(p: {
  user: ViewUser;
  csrfToken: string;
  groups: AdminGroup[];
  notice?: Notice | null;
  errors?: Record<string, string>;
}): SafeHtml {
  const depth = (path: string) => path.split('/').length - 1;
  const body = html`<div class="page-head"><div>
  <h1 class="page-head__title">Administration</h1>
  <p class="page-head__intro">Every group tree. Owners manage their own groups; administrators manage all of them.</p>
</div></div>
<div class="panels">
<section class="panel panel--wide" aria-labelledby="trees-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="trees-heading">Groups</h2>
    <p class="panel__intro">${p.groups.length} group${p.groups.length === 1 ? '' : 's'}. Membership of a group gives every group below it.</p>
  </div>
  ${
    p.groups.length === 0
      ? html`<p class="muted">No groups yet. Create the first one below.</p>`
      : html`<ul class="group-tree">${p.groups.map(
          (g) => html`<li class="group-tree__item group-tree__item--d${Math.min(depth(g.path), 8)}">
        <a class="mono" href="/account/groups/${g.id}">${g.path.slice(g.path.lastIndexOf('/') + 1)}</a>
        <span class="muted">${g.members} member${g.members === 1 ? '' : 's'}${g.includes.length > 0 ? `; includes ${g.includes.join(', ')}` : ''}</span>
      </li>`,
        )}</ul>`
  }
</section>
<section class="panel" aria-labelledby="create-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="create-heading">Create a group</h2>
    <p class="panel__intro">A new top-level group, or a subgroup by its full path.</p>
  </div>
  <form class="form" method="post" action="/admin/groups">
    ${csrfInput(p.csrfToken)}
    ${field({ id: 'group-path', name: 'path', label: 'Path', required: true, verbatim: true, hint: 'Such as members/workshop/laser', error: p.errors?.path })}
    ${field({ id: 'group-description', name: 'description', label: 'Description', optional: true, error: p.errors?.description })}
    ${field({ id: 'group-owner', name: 'owner', label: 'First owner (username)', optional: true, verbatim: true, error: p.errors?.owner })}
    <div class="form__actions"><button class="button button--primary" type="submit">Create group</button></div>
  </form>
</section>
</div>`;
  return layout({
    title: 'Administration',
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    notice: p.notice ?? null,
    active: 'admin',
  });
}
