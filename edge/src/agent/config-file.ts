import { readFileSync } from 'node:fs';
import { LightNodeError, parseAgentConfig, type AgentConfig } from '@lightnode/protocols';

/** Reads and validates an agent config file; errors name the file, the JSON path, the expectation and the value. */
export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new LightNodeError(
      'CONFIG_INVALID',
      `${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { path },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error (`…"password": hunter2}" is not valid JSON`): never echo the file
    const why = (e as Error).message.replace(/, (?:\.\.\.)?".*" is not valid JSON$/s, '');
    throw new LightNodeError('CONFIG_INVALID', `${path}: not JSON (${why})`, { path });
  }
  return parseAgentConfig(doc, path);
}
