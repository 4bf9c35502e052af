// The shape every subsystem's errors share: a stable `code` from the subsystem's catalogue,
// the HTTP status it maps to, and a message a person can act on.

export interface ErrorEntry {
  readonly status: number;
  readonly message: string;
  /** The form field the error belongs to, for pages that show it beside the input. */
  readonly field?: string | null;
}

export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  readonly status: number;
  readonly field: string | null;
  constructor(catalogue: Readonly<Record<Code, ErrorEntry>>, code: Code, message?: string) {
    super(message ?? catalogue[code].message);
    this.code = code;
    this.status = catalogue[code].status;
    this.field = catalogue[code].field ?? null;
  }
}
