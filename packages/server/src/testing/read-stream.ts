// Reading a streamed response (server-sent events) in tests, up to the text a test waits for.

/** Reads a stream until `want` appears in it; returns what was read. */
export async function readUntil(res: Response, want: string): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(want)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}
