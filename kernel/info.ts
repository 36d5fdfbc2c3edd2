// kernel_info_reply content (messaging spec 5.3, "Kernel info").
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const packageJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
};

export const PROTOCOL_VERSION = '5.3';

function typescriptVersion(): string {
  return (JSON.parse(readFileSync(require.resolve('typescript-5/package.json'), 'utf8')) as { version: string }).version;
}

export const KERNEL_INFO = {
  status: 'ok',
  protocol_version: PROTOCOL_VERSION,
  implementation: 'lakebase-kernel',
  implementation_version: packageJson.version,
  // What every frontend resolves (issue 11): VS Code picks its language by `name`; JupyterLab
  // (CodeMirror 6 `findBest`) and Notebook 6 (CodeMirror 5 `findModeByName`, which then loads
  // `mode/javascript/javascript.js`) both know the mode name `typescript`. A MIME type here, as
  // before, sent Notebook 6 to a mode file that does not exist (`mode/text/typescript/...`, 404)
  // and left new notebooks without highlighting. `application/typescript` is the MIME type both
  // CodeMirrors register for TypeScript; nbconvert's HTML highlights with `pygments_lexer`.
  language_info: {
    name: 'typescript',
    // The TypeScript that cells are compiled with (kernel/typescript/compiler.ts).
    version: typescriptVersion(),
    mimetype: 'application/typescript',
    file_extension: '.ts',
    codemirror_mode: 'typescript',
    pygments_lexer: 'typescript',
  },
  banner: `lakebase-kernel ${packageJson.version}: TypeScript cells and %lakebase SQL magics (%lakebase help)`,
  help_links: [
    { text: 'Lakebase documentation', url: 'https://docs.databricks.com/aws/en/database' },
    { text: 'TypeScript handbook', url: 'https://www.typescriptlang.org/docs/handbook/' },
  ],
};
