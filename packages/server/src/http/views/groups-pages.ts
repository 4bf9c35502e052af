// Access groups on the pages: "My groups" on /account, a group's management page (members,
// invitations, subgroups) and the invitation link with its QR code. The invitation landing page
// is in invitation-pages.ts, the administrators' view of every group tree in admin-page.ts.

import { alertBox, csrfInput, field, formErrors, type Notice } from './components.ts';
import { formatDateTime } from './format.ts';
import { html, raw, type SafeHtml } from './html.ts';
import { layout, type ViewUser } from './layout.ts';

export interface ViewGroup {
  id: string;
  path: string;
  description: string | null;
}

export interface ViewMembership {
  group: ViewGroup;
  role: 'owner' | 'member';
  shareDepth: number;
  joinedAt: Date;
}

export interface ViewMember {
  userId: string;
  username: string;
  name: string | null;
  role: 'owner' | 'member';
  joinedAt: Date;
}

export interface ViewInvitation {
  id: string;
  groupPath: string;
  role: 'owner' | 'member';
  shareDepth: number;
  maxUses: number;
  uses: number;
  note: string | null;
  expiresAt: Date;
  createdByUsername: string | null;
  status: 'pending' | 'revoked' | 'expired' | 'used-up';
}

const STATUS_TEXT: Record<ViewInvitation['status'], string> = {
  pending: 'Pending',
  revoked: 'Withdrawn',
  expired: 'Expired',
  'used-up': 'Used up',
};

function selectField(o: {
  id: string;
  name: string;
  label: string;
  options: { value: string; label: string }[];
  value?: string;
  hint?: string;
}): SafeHtml {
  const hintId = o.hint ? `${o.id}-hint` : null;
  return html`<div class="field">
  <div class="field__head"><label for="${o.id}">${o.label}</label></div>
  <select class="input" id="${o.id}" name="${o.name}"${hintId ? html` aria-describedby="${hintId}"` : ''}>
    ${o.options.map((opt) => html`<option value="${opt.value}"${opt.value === o.value ? html` selected` : ''}>${opt.label}</option>`)}
  </select>
  ${o.hint ? html`<p class="field__hint" id="${hintId}">${o.hint}</p>` : ''}
</div>`;
}

function roleBadge(role: 'owner' | 'member'): SafeHtml {
  return html`<span class="badge${role === 'owner' ? ' badge--owner' : ''}">${role === 'owner' ? 'Owner' : 'Member'}</span>`;
}

/** The "My groups" panel on /account: memberships with a Leave button, and groups I manage. */
export function myGroupsSection(p: {
  memberships: ViewMembership[];
  managed: ViewGroup[];
  effective: string[];
  csrfToken: string;
}): SafeHtml {
  const viaInclude = p.effective.filter(
    (path) => !p.memberships.some((m) => m.group.path === path),
  );
  return html`<section class="panel panel--wide" aria-labelledby="groups-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="groups-heading">My groups</h2>
    <p class="panel__intro">Being in a group gives you that group and every group below it.</p>
  </div>
  ${
    p.memberships.length === 0
      ? html`<p class="muted">You are not in any group yet. An invitation link from a group's owner adds you.</p>`
      : html`<div class="table-wrap"><table class="data-table">
    <caption class="visually-hidden">Groups you are in</caption>
    <thead><tr><th scope="col">Group</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${p.memberships.map(
      (m) => html`<tr>
      <th scope="row"><span class="mono">${m.group.path}</span>${m.group.description ? html`<span class="data-table__sub">${m.group.description}</span>` : ''}</th>
      <td>${roleBadge(m.role)}${m.role === 'member' && m.shareDepth > 0 ? html` <span class="muted">may invite</span>` : ''}</td>
      <td><time datetime="${m.joinedAt.toISOString()}">${formatDateTime(m.joinedAt)}</time></td>
      <td class="data-table__action">
        ${m.role === 'owner' || m.shareDepth > 0 ? html`<a class="button button--secondary button--small" href="/account/groups/${m.group.id}">${m.role === 'owner' ? 'Manage' : 'Invite'}<span class="visually-hidden"> ${m.group.path}</span></a>` : ''}
        <form class="inline-form" method="post" action="/account/groups/${m.group.id}/leave">
          ${csrfInput(p.csrfToken)}
          <button class="button button--quiet button--small" type="submit">Leave<span class="visually-hidden"> ${m.group.path}</span></button>
        </form>
      </td>
    </tr>`,
    )}
    </tbody>
  </table></div>`
  }
  ${viaInclude.length > 0 ? html`<p class="panel__foot muted">Also through groups that include yours: ${viaInclude.map((g, i) => html`${i > 0 ? ', ' : ''}<span class="mono">${g}</span>`)}</p>` : ''}
  ${
    p.managed.length > 0
      ? html`<h3 class="section__title">Groups you manage</h3>
  <ul class="group-list">${p.managed.map((g) => html`<li><a class="mono" href="/account/groups/${g.id}">${g.path}</a></li>`)}</ul>`
      : ''
  }
</section>`;
}

function invitationRows(invitations: ViewInvitation[], csrfToken: string, now: Date): SafeHtml {
  if (invitations.length === 0) return html`<p class="muted">No pending invitations.</p>`;
  return html`<div class="table-wrap"><table class="data-table">
    <caption class="visually-hidden">Pending invitations</caption>
    <thead><tr><th scope="col">Invitation</th><th scope="col">Role</th><th scope="col">Used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${invitations.map(
      (i) => html`<tr>
      <th scope="row">${i.note ?? html`<span class="muted">No note</span>`}<span class="data-table__sub">by ${i.createdByUsername ?? 'an administrator'}${i.shareDepth > 0 ? `; joiners may invite ${i.shareDepth} level${i.shareDepth === 1 ? '' : 's'} further` : ''}</span></th>
      <td>${roleBadge(i.role)}</td>
      <td>${i.uses} of ${i.maxUses}</td>
      <td>${i.expiresAt > now ? html`<time datetime="${i.expiresAt.toISOString()}">${formatDateTime(i.expiresAt)}</time>` : STATUS_TEXT[i.status]}</td>
      <td class="data-table__action"><form class="inline-form" method="post" action="/account/invitations/${i.id}/revoke">
        ${csrfInput(csrfToken)}
        <button class="button button--danger button--small" type="submit">Revoke<span class="visually-hidden"> invitation ${i.note ?? ''}</span></button>
      </form></td>
    </tr>`,
    )}
    </tbody>
  </table></div>`;
}

export interface GroupPageProps {
  user: ViewUser;
  csrfToken: string;
  group: ViewGroup;
  /** Owner of the group or above, or an administrator. */
  manage: boolean;
  /** What the viewer may put on an invitation. */
  rights: { role: 'owner' | 'member' | null; shareDepth: number };
  members: ViewMember[];
  invitations: ViewInvitation[];
  subgroups: ViewGroup[];
  notice?: Notice | null;
  errors?: Record<string, string>;
  now?: Date;
}

/** A group's page for its owners (and members allowed to invite): members, invitations, subgroups. */
export function groupPage(p: GroupPageProps): SafeHtml {
  const now = p.now ?? new Date();
  const general = formErrors(p.errors, ['subgroup'], 'group-error');
  const depthOptions = Array.from({ length: Math.min(p.rights.shareDepth, 3) + 1 }, (_, d) => ({
    value: String(d),
    label:
      d === 0
        ? 'No, only I invite'
        : d === 1
          ? 'Yes, one level further'
          : `Yes, ${d} levels further`,
  }));
  const inviteForm = p.rights.role
    ? html`<form class="form" method="post" action="/account/groups/${p.group.id}/invitations">
    ${csrfInput(p.csrfToken)}
    ${selectField({
      id: 'invite-role',
      name: 'role',
      label: 'Role',
      options:
        p.rights.role === 'owner'
          ? [
              { value: 'member', label: 'Member' },
              { value: 'owner', label: 'Owner (manages this group)' },
            ]
          : [{ value: 'member', label: 'Member' }],
    })}
    ${selectField({
      id: 'invite-uses',
      name: 'max_uses',
      label: 'Who can use it',
      options: [
        { value: '1', label: 'One person' },
        { value: '10', label: 'Up to 10 people' },
        { value: '100', label: 'Up to 100 people' },
      ],
    })}
    ${selectField({
      id: 'invite-expiry',
      name: 'expires_in_days',
      label: 'Expires after',
      value: '7',
      options: [
        { value: '1', label: '1 day' },
        { value: '7', label: '7 days' },
        { value: '30', label: '30 days' },
      ],
    })}
    ${selectField({ id: 'invite-share', name: 'share_depth', label: 'May they invite others?', options: depthOptions, hint: 'People they invite never get more than they have.' })}
    ${field({ id: 'invite-note', name: 'note', label: 'Note', optional: true, hint: 'For you: who the invitation is for.' })}
    <div class="form__actions"><button class="button button--primary" type="submit">Create invitation link</button></div>
  </form>`
    : html`<p class="muted">You may not invite people to this group.</p>`;
  const body = html`<div class="page-head">
  <div>
    <p class="card__eyebrow"><a href="/account">Your account</a></p>
    <h1 class="page-head__title mono">${p.group.path}</h1>
    ${p.group.description ? html`<p class="page-head__intro">${p.group.description}</p>` : ''}
  </div>
</div>
${general.markup}
<div class="panels">
<section class="panel panel--wide" aria-labelledby="members-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="members-heading">Members</h2>
    <p class="panel__intro">People in this group. Members of groups above it also have it.</p>
  </div>
  ${
    p.members.length === 0
      ? html`<p class="muted">Nobody is directly in this group yet.</p>`
      : html`<div class="table-wrap"><table class="data-table">
    <caption class="visually-hidden">Members of ${p.group.path}</caption>
    <thead><tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Joined</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${p.members.map(
      (m) => html`<tr>
      <th scope="row">${m.name ?? html`<span class="mono">${m.username}</span>`}${m.name ? html`<span class="data-table__sub mono">${m.username}</span>` : ''}</th>
      <td>${roleBadge(m.role)}</td>
      <td><time datetime="${m.joinedAt.toISOString()}">${formatDateTime(m.joinedAt)}</time></td>
      <td class="data-table__action">${
        p.manage && m.userId !== p.user.id
          ? html`<form class="inline-form" method="post" action="/account/groups/${p.group.id}/members/${m.userId}/remove">
        ${csrfInput(p.csrfToken)}
        <button class="button button--danger button--small" type="submit">Remove<span class="visually-hidden"> ${m.username}</span></button>
      </form>`
          : ''
      }</td>
    </tr>`,
    )}
    </tbody>
  </table></div>`
  }
</section>
<section class="panel" aria-labelledby="invite-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="invite-heading">Invite people</h2>
    <p class="panel__intro">Creates a link and a QR code to share. Whoever opens it can join.</p>
  </div>
  ${inviteForm}
</section>
${
  p.manage
    ? html`<section class="panel" aria-labelledby="subgroups-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="subgroups-heading">Subgroups</h2>
    <p class="panel__intro">Members of this group have every subgroup too.</p>
  </div>
  ${p.subgroups.length > 0 ? html`<ul class="group-list">${p.subgroups.map((g) => html`<li><a class="mono" href="/account/groups/${g.id}">${g.path}</a></li>`)}</ul>` : html`<p class="muted">No subgroups.</p>`}
  <form class="form" method="post" action="/account/groups/${p.group.id}/subgroups">
    ${csrfInput(p.csrfToken)}
    ${field({ id: 'subgroup-name', name: 'name', label: 'New subgroup name', required: true, verbatim: true, hint: 'Lowercase letters, digits, ".", "_" or "-"', error: p.errors?.subgroup })}
    <div class="form__actions"><button class="button button--secondary" type="submit">Create subgroup</button></div>
  </form>
  <p class="panel__foot"><a href="/account/groups/${p.group.id}/delete">Delete this group…</a></p>
</section>
<section class="panel panel--wide" aria-labelledby="pending-heading">
  <div class="panel__head">
    <h2 class="panel__title" id="pending-heading">Pending invitations</h2>
  </div>
  ${invitationRows(p.invitations, p.csrfToken, now)}
</section>`
    : ''
}
</div>`;
  return layout({
    title: p.group.path,
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    notice: p.notice ?? null,
    active: 'account',
  });
}

/** Shown once after creating an invitation: the link, its QR code, and a PNG to print. */
export function invitationCreatedPage(p: {
  user: ViewUser;
  csrfToken: string;
  group: ViewGroup;
  url: string;
  token: string;
  /** SVG markup from the qrcode package (generated by us, never user input). */
  svg: string;
  invitation: ViewInvitation;
}): SafeHtml {
  const body = html`<div class="card card--invite">
  <p class="card__eyebrow"><a class="mono" href="/account/groups/${p.group.id}">${p.group.path}</a></p>
  <h1 class="card__title">Invitation link ready</h1>
  ${alertBox('info', ['Copy the link or print the QR code now: for your safety it is shown only once. You can revoke it at any time.'])}
  <div class="field">
    <div class="field__head"><label for="invite-link">Invitation link</label></div>
    <input class="input mono" id="invite-link" type="text" readonly value="${p.url}">
  </div>
  <figure class="qr">
    <div class="qr__code" role="img" aria-label="QR code of the invitation link">${raw(p.svg)}</div>
    <figcaption class="muted">Join <span class="mono">${p.group.path}</span> as ${p.invitation.role}; ${p.invitation.maxUses === 1 ? 'one person' : `up to ${p.invitation.maxUses} people`}; until ${formatDateTime(p.invitation.expiresAt)}.</figcaption>
  </figure>
  <div class="card__actions button-row">
    <form class="inline-form" method="post" action="/account/groups/${p.group.id}/invitations/qr.png">
      ${csrfInput(p.csrfToken)}
      <input type="hidden" name="token" value="${p.token}">
      <button class="button button--secondary" type="submit">Download QR code (PNG)</button>
    </form>
    <a class="button button--primary" href="/account/groups/${p.group.id}">Done</a>
  </div>
</div>`;
  return layout({
    title: 'Invitation link',
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    narrow: true,
  });
}

/** Confirmation before deleting a group, listing what goes with it. */
export function deleteGroupPage(p: {
  user: ViewUser;
  csrfToken: string;
  group: ViewGroup;
  preview: { groups: string[]; memberships: number; invitations: number; includes: number };
}): SafeHtml {
  const cascade = p.preview.groups.length > 1 || p.preview.memberships > 0;
  const body = html`<div class="card card--auth">
  <p class="card__eyebrow"><a class="mono" href="/account/groups/${p.group.id}">${p.group.path}</a></p>
  <h1 class="card__title">Delete <span class="mono">${p.group.path}</span>?</h1>
  <p class="card__intro">This removes:</p>
  <ul>
    <li>${p.preview.groups.length === 1 ? 'this group' : `${p.preview.groups.length} groups: `}${p.preview.groups.length > 1 ? p.preview.groups.map((g, i) => html`${i > 0 ? ', ' : ''}<span class="mono">${g}</span>`) : ''}</li>
    <li>${p.preview.memberships} membership${p.preview.memberships === 1 ? '' : 's'}</li>
    <li>${p.preview.invitations} pending invitation${p.preview.invitations === 1 ? '' : 's'}</li>
    <li>${p.preview.includes} include${p.preview.includes === 1 ? '' : 's'}</li>
  </ul>
  <form class="form" method="post" action="/account/groups/${p.group.id}/delete">
    ${csrfInput(p.csrfToken)}
    ${cascade ? html`<input type="hidden" name="cascade" value="yes">` : ''}
    <div class="form__actions">
      <button class="button button--danger" type="submit">Delete${cascade ? ' all of it' : ''}</button>
      <a class="button button--quiet" href="/account/groups/${p.group.id}">Cancel</a>
    </div>
  </form>
</div>`;
  return layout({
    title: 'Delete group',
    user: p.user,
    csrfToken: p.csrfToken,
    body,
    narrow: true,
  });
}
