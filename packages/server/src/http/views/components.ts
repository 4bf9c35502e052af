// Small building blocks shared by the pages: form fields with their label, hint and error wired
// together for assistive technology, the CSRF input, avatars and notices.

import { colourSlot, initialOf, safeImageSrc } from './format.ts';
import { html, type SafeHtml } from './html.ts';

export interface Notice {
  kind: 'success' | 'error' | 'info';
  text: string;
}

export function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

export interface FieldOptions {
  /** Unique on the page; the label's `for`. */
  id: string;
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'url';
  value?: string | null | undefined;
  autocomplete?: string;
  required?: boolean;
  /** Marks the field "Optional" beside (not inside) the label, so the label stays exact. */
  optional?: boolean;
  hint?: string | null | undefined;
  error?: string | null | undefined;
  /** Ids of other elements that describe this field (a form-level error). */
  describedBy?: string | null | undefined;
  /** Usernames and URLs: no auto-capitalisation or spell checking. */
  verbatim?: boolean;
}

export function field(o: FieldOptions): SafeHtml {
  const hintId = o.hint ? `${o.id}-hint` : null;
  const errorId = o.error ? `${o.id}-error` : null;
  const describedBy = [o.describedBy, hintId, errorId].filter(Boolean).join(' ');
  return html`<div class="field${o.error ? ' field--invalid' : ''}">
  <div class="field__head"><label for="${o.id}">${o.label}</label>${o.optional ? html`<span class="field__optional">Optional</span>` : ''}</div>
  <input class="input" id="${o.id}" name="${o.name}" type="${o.type ?? 'text'}"${o.value ? html` value="${o.value}"` : ''}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.required ? html` required` : ''}${o.verbatim ? html` autocapitalize="none" autocorrect="off" spellcheck="false"` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${o.error ? html` aria-invalid="true"` : ''}>
  ${o.hint ? html`<p class="field__hint" id="${hintId}">${o.hint}</p>` : ''}
  ${o.error ? html`<p class="field__error" id="${errorId}" role="alert">${o.error}</p>` : ''}
</div>`;
}

/** A boxed message; errors interrupt (role=alert), confirmations wait their turn (status). */
export function alertBox(kind: Notice['kind'], messages: string[], id?: string | null): SafeHtml {
  const role = kind === 'error' ? 'alert' : 'status';
  return html`<div class="alert alert--${kind}"${id ? html` id="${id}"` : ''} role="${role}"><div class="alert__body">${messages.map((m) => html`<p>${m}</p>`)}</div></div>`;
}

/** Errors whose key matches no field on the form, shown above it so none is silently lost. */
export function formErrors(
  errors: Record<string, string> | undefined,
  fieldNames: readonly string[],
  id: string,
): { markup: SafeHtml; id: string | null } {
  const rest = Object.entries(errors ?? {}).filter(([key]) => !fieldNames.includes(key));
  if (rest.length === 0) return { markup: html``, id: null };
  return {
    id,
    markup: alertBox(
      'error',
      rest.map(([, message]) => message),
      id,
    ),
  };
}

export function noticeBox(notice: Notice | null | undefined): SafeHtml {
  return notice ? alertBox(notice.kind, [notice.text]) : html``;
}

/** A picture when it can load under the CSP, else the first letter on a colour from the name. */
export function avatar(p: {
  name: string;
  pictureUrl: string | null;
  size: 'sm' | 'md' | 'lg';
}): SafeHtml {
  const src = safeImageSrc(p.pictureUrl);
  if (src) {
    return html`<img class="avatar avatar--${p.size}" src="${src}" alt="" referrerpolicy="no-referrer" loading="lazy">`;
  }
  return html`<span class="avatar avatar--${p.size} avatar--c${colourSlot(p.name)}" aria-hidden="true">${initialOf(p.name)}</span>`;
}
