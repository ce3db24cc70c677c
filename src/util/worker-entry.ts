import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where a worker thread's code is, given its name without extension and the URL of the module
 * beside it: next to that module once built (dist/), or, when running from the TypeScript sources
 * (ts-jest, tsx), the .ts file, loaded through tsx's loader (a development dependency, present
 * exactly when the sources are). Loader flags given to the main thread do not reach a worker,
 * hence the small bootstrap that registers tsx inside it.
 */
export function workerEntry(name: string, besides: string): URL {
  const built = new URL(`./${name}.js`, besides);
  if (existsSync(fileURLToPath(built))) return built;
  // The ESM build: require.resolve finds the CommonJS one, whose register() cannot load here.
  const tsx = pathToFileURL(createRequire(besides).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const source = new URL(`./${name}.ts`, besides).href;
  const bootstrap = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(source)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
