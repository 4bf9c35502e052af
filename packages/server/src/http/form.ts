// Reading submitted forms: every field is a string or absent. A field sent twice, or as
// anything but text, is treated as absent rather than trusted.

import type { FastifyReply } from 'fastify';
import type { SafeHtml } from './views/html.ts';

export function formField(body: unknown, name: string): string {
  if (typeof body !== 'object' || body === null) return '';
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

export function sendPage(reply: FastifyReply, page: SafeHtml, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').send(page.value);
}
