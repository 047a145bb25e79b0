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
    throw new LightNodeError('CONFIG_INVALID', `${path}: not JSON (${(e as Error).message})`, { path });
  }
  return parseAgentConfig(doc, path);
}
