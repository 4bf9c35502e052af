// gatehouse-client: what a service protected by Gatehouse imports.

export * from './expression.ts';
