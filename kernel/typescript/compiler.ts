// The cell compiler: type-checks a TypeScript cell against everything earlier cells declared and
// turns it into JavaScript, in time that does not grow with the notebook (issue 10).
//
// Why not tslab's converter: it keeps the declarations of all earlier cells in ONE file that it
// rewrites, re-parses and re-checks for every cell, so a cell costs more the longer a notebook
// runs (48 ms at cell 1, 88 ms at cell 300 here). Here each cell that ran leaves its own
// declaration file (`.d.ts`, from TypeScript's declaration emit), parsed once and reused by every
// later program, as are the standard library and `@types` files. A new cell costs one program
// built from cached source files and cached module resolutions, a fresh type checker, and the
// check and emit of that one cell.
//
// How cells see each other: every cell and every declaration file is a module, and a module's
// source file has its predecessor as `parent` (tslab's trick, extended to a chain): the checker
// looks a name up in the cell, then in the newest declaration file, then the one before, and so
// on, then in the globals. So a later cell may redeclare a `const` of an earlier one (it shadows
// it, as in tslab), and nothing of an earlier cell is re-read.
//
// What is loaded when (the first cell within a second of a start): the standard library and the
// notebook's @types packages (above all @types/node, 2.2 MB of the 2.8 MB) take most of a start
// to parse and bind. A kernel checks its first cells without the @types packages and loads them
// in the background, a file a step, between requests (`warmUp`). A cell that does not check
// cleanly so is checked again with everything, loaded at once: an error is always reported as the
// full program sees it, and a cell that needs Node's types (`console`, `Buffer`, `import "fs"`)
// waits for them as before. What a cell waits for is parsed without its JSDoc (TypeScript's
// `ParseForTypeErrors`: type errors do not depend on it), and parsed again with it by the
// warm-up, for hover. Completion, which lists every global, loads the @types packages first,
// and hover the documentation too.
//
// What runs: the cell's JavaScript is CommonJS whose top-level names are `exports` of a session
// object kept by the runner (kernel/typescript/index.ts); references to names of earlier cells
// are rewritten to `exports.name`; a final expression statement becomes `return`.
import { statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type * as TS from 'typescript-5';

export interface Diagnostic {
  line: number;
  column: number;
  message: string;
  /** The file, relative to the notebook's folder, when the problem is not in the cell itself. */
  file?: string;
}

export interface CompiledCell {
  id: number;
  /** The body of the function the cell runs as; `exports` and `require` are its parameters. */
  js: string;
  /** The cell awaits at top level: its function is async. */
  topLevelAwait: boolean;
  /** The cell's top-level names that have a value at run time (not interfaces or types). */
  valueNames: string[];
  /** Local TypeScript modules the cell imports, compiled: `path` is the `.js` path they stand for. */
  modules: { path: string; js: string }[];
}

export type CompileOutcome =
  | { status: 'ok'; cell: CompiledCell }
  | { status: 'error'; diagnostics: Diagnostic[] }
  | { status: 'cancelled' };

export interface Completion {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
}

export interface CellCompiler {
  /**
   * Checks and compiles a cell. It becomes visible to later cells only by `commit`; a cell that is
   * compiled but neither committed nor discarded is discarded by the next `compile`.
   */
  compile(code: string, isCancelled?: () => boolean): CompileOutcome;
  /**
   * The cell ran: later cells see its declarations. `keep` lists the value names that it assigned
   * before it failed (all when omitted); the others are forgotten, and an earlier cell's
   * declaration of the same name, if any, is seen again.
   */
  commit(id: number, keep?: readonly string[]): void;
  discard(id: number): void;
  complete(code: string, cursor: number): Completion;
  /** Hover text (signature and documentation) at `cursor`, or null. */
  inspect(code: string, cursor: number): string | null;
  /**
   * One step of loading the notebook's @types packages, then the documentation of what was parsed
   * without it (a file parsed and bound): call it while idle, until it returns false. Once the
   * @types packages are in, cells are checked with everything.
   */
  warmUp(): boolean;
}

export interface CellCompilerOptions {
  /** The notebook's folder: cells resolve imports (`./helper`, packages) from here. */
  rootDir: string;
  /** `@types` folders to use when the notebook's folder has no `@types/node` above it. */
  fallbackTypeRoots?: string[];
  /** Called for every file parsed, once per file and version (tests count them). */
  onParse?: (fileName: string, text: string) => void;
}

/** TypeScript's "top-level await needs module es2022" diagnostics: the runner wraps such cells in an async function. */
const TOP_LEVEL_AWAIT_CODES = new Set([1378, 1432, 2854]);

/** "Cannot find module" (with and without a hint about moduleResolution). */
const MODULE_NOT_FOUND_CODES = new Set([2307, 2792]);

/** Virtual files live in the notebook's folder (so relative imports resolve) under names no user file has. */
const VIRTUAL_PREFIX = '.lakebase-cell-';
const CELL_NAME = `${VIRTUAL_PREFIX}current.ts`;
const SCRATCH_NAME = `${VIRTUAL_PREFIX}scratch.ts`;
/** What a declaration slot holds before a cell's declarations fill it: a module declaring nothing. */
export const EMPTY_SLOT = 'export {};\n';
/** Declaration slots made at first; their number doubles whenever they are all taken. */
const FIRST_SLOTS = 64;

interface VirtualFile {
  text: string;
  version: number;
  /** The declaration file this one sees through (see the header). */
  parent?: string;
}

/**
 * Internals of TypeScript 5.9 (exported at run time, not in its declarations) that let the warm-up
 * parse and bind files as a program would, outside one. Each is optional: without it the program
 * does that part itself, later.
 */
interface Internals {
  bindSourceFile?(file: TS.SourceFile, options: TS.CompilerOptions): void;
  getSetExternalModuleIndicator?(options: TS.CompilerOptions): (file: TS.SourceFile) => void;
  /** `/// <reference lib="es2020" />` → `lib.es2020.d.ts`. */
  libMap?: Map<string, string>;
}

/** What a program's type reference directives are resolved from when no file has them (`types`, typeRoots). */
const INFERRED_TYPES_FILE = '__inferred type names__.ts';

interface Pending {
  id: number;
  declarations: string;
  valueNames: string[];
}

export function createCellCompiler(ts: typeof TS, options: CellCompilerOptions): CellCompiler {
  const rootDir = resolve(options.rootDir);
  const compilerOptions = compilerOptionsFor(ts, rootDir, options.fallbackTypeRoots ?? []);
  /** The first cells' options, until the @types packages are loaded (see the header). */
  const withoutTypes: TS.CompilerOptions = { ...compilerOptions, types: [] };
  let typesLoaded = false;
  const virtual = new Map<string, VirtualFile>();
  /**
   * Parsed files, by name: each is parsed once per version and shared by every program. `docs`:
   * parsed with its JSDoc (see `withDocs`).
   */
  const parsed = new Map<string, { version: string; file: TS.SourceFile; docs: boolean }>();
  // The program's files never change names, so that TypeScript reuses the whole structure of
  // the last program and only looks again at files whose text changed ("StructureIsReused
  // Completely": 1.2 ms rather than 4.5 ms for a program here). The cell being compiled is always
  // CELL_NAME; committed cells' declarations fill slots made ahead, empty until then.
  const slots: string[] = [];
  const slotNames = new Set<string>();
  let committedSlots = 0;
  const cellFile = join(rootDir, CELL_NAME);
  /** Diagnostics of local modules (`./helper.ts`), by file and version. */
  const moduleDiagnostics = new Map<string, { version: string; diagnostics: Diagnostic[] }>();
  /** Local modules compiled for the runner, by file and version. */
  const emittedModules = new Map<string, string>();
  let program: TS.Program | undefined;
  let pending: Pending | undefined;
  let nextId = 0;
  let nextVersion = 0;

  const canonical = (fileName: string) => fileName;
  const resolutionCache = ts.createModuleResolutionCache(rootDir, canonical, compilerOptions);
  const typeReferenceCache = ts.createTypeReferenceDirectiveResolutionCache(
    rootDir,
    canonical,
    compilerOptions,
    resolutionCache.getPackageJsonInfoCache(),
  );

  const lastDeclarationFile = () => (committedSlots > 0 ? slots[committedSlots - 1] : undefined);
  function addSlots(count: number): void {
    for (let i = 0; i < count; i += 1) {
      const slot = join(rootDir, `${VIRTUAL_PREFIX}${slots.length}.d.ts`);
      virtual.set(slot, { text: EMPTY_SLOT, version: ++nextVersion });
      slots.push(slot);
      slotNames.add(slot);
    }
  }

  /** Files that may change while the kernel runs: the user's own, not packages or the standard library. */
  function isLocal(fileName: string): boolean {
    return !virtual.has(fileName) && !fileName.includes(`${sep}node_modules${sep}`) && !fileName.startsWith(libDirectory);
  }
  const libDirectory = dirname(ts.getDefaultLibFilePath(compilerOptions));

  function versionOf(fileName: string): string | undefined {
    const file = virtual.get(fileName);
    if (file) return String(file.version);
    if (!isLocal(fileName)) return parsed.has(fileName) ? parsed.get(fileName)!.version : ts.sys.fileExists(fileName) ? 'package' : undefined;
    try {
      return String(statSync(fileName).mtimeMs);
    } catch {
      // Gone (or never there): the program reports the missing import.
      return undefined;
    }
  }

  function sourceFile(fileName: string, languageVersion: TS.ScriptTarget | TS.CreateSourceFileOptions): TS.SourceFile | undefined {
    const version = versionOf(fileName);
    if (version === undefined) return undefined;
    const docs = withDocs || docsLoaded || isLocal(fileName) || virtual.has(fileName);
    const cached = parsed.get(fileName);
    if (cached && cached.version === version && (cached.docs || !docs)) return cached.file;
    const text = virtual.get(fileName)?.text ?? ts.sys.readFile(fileName);
    if (text === undefined) return undefined;
    const file = parse(fileName, text, languageVersion, docs);
    const parent = virtual.get(fileName)?.parent;
    if (parent) (file as { parent: TS.Node }).parent = sourceFile(parent, languageVersion)!;
    parsed.set(fileName, { version, file, docs });
    return file;
  }

  function parse(fileName: string, text: string, languageVersion: TS.ScriptTarget | TS.CreateSourceFileOptions, docs: boolean): TS.SourceFile {
    options.onParse?.(fileName, text);
    const settings = typeof languageVersion === 'object' ? languageVersion : { languageVersion };
    const jsDocParsingMode = docs ? ts.JSDocParsingMode.ParseAll : ts.JSDocParsingMode.ParseForTypeErrors;
    // Parent pointers cost a walk of the whole tree; the binder sets them anyway, and a program
    // sets those of imports before (as tsc, which parses without them). The cells' own files keep
    // them: the transformers and the language service look at them.
    return ts.createSourceFile(fileName, text, { ...settings, jsDocParsingMode }, isLocal(fileName) || virtual.has(fileName));
  }

  const host: TS.CompilerHost = {
    ...ts.createCompilerHost(compilerOptions),
    getSourceFile: (fileName, languageVersion) => sourceFile(fileName, languageVersion),
    fileExists: (fileName) => virtual.has(fileName) || ts.sys.fileExists(fileName),
    readFile: (fileName) => virtual.get(fileName)?.text ?? ts.sys.readFile(fileName),
    getCurrentDirectory: () => rootDir,
    writeFile: () => {
      throw new Error('the cell compiler never writes files');
    },
    // One cache of module resolutions for the whole session: without it each program resolves
    // every import of @types/node again, which was most of a cell's time.
    getModuleResolutionCache: () => resolutionCache,
    resolveModuleNameLiterals: (literals, containingFile, redirected, settings, containingSourceFile) =>
      literals.map((literal) =>
        ts.resolveModuleName(
          literal.text,
          containingFile,
          settings,
          host,
          resolutionCache,
          redirected,
          ts.getModeForUsageLocation(containingSourceFile, literal, settings),
        ),
      ),
    resolveTypeReferenceDirectiveReferences: (references, containingFile, redirected, settings, containingSourceFile) =>
      references.map((reference) => {
        const name = typeof reference === 'string' ? reference : reference.fileName.toLowerCase();
        const mode = typeof reference === 'string' ? undefined : ts.getModeForFileReference(reference, containingSourceFile?.impliedNodeFormat);
        return ts.resolveTypeReferenceDirective(name, containingFile, settings, host, redirected, typeReferenceCache, mode);
      }),
  };

  function buildProgram(settings: TS.CompilerOptions): TS.Program {
    if (committedSlots === slots.length) addSlots(Math.max(FIRST_SLOTS, slots.length));
    program = ts.createProgram({ rootNames: [...slots, cellFile], options: settings, host, oldProgram: program });
    return program;
  }

  // The warm-up, in two parts, a file a step (parsed and bound): the files the program gains with
  // the @types packages, found by following references from their entry files as a program
  // would; then, with their documentation, the files that were parsed without it. What the first
  // part misses (an `import("x")` type deep in a file) the first full program parses itself.
  const internals = ts as typeof ts & Internals;
  const setExternalModuleIndicator = internals.getSetExternalModuleIndicator?.(compilerOptions);
  let warming: { queue: string[]; seen: Set<string> } | undefined;
  let documenting: string[] | undefined;
  let docsLoaded = false;
  /**
   * Whether the standard library and packages are parsed with their JSDoc now: not while a cell
   * waits for them (type errors do not depend on it; parsing it is a fifth of the time), but in
   * the warm-up, whose second part parses again what was parsed without, and for hover.
   */
  let withDocs = false;

  function warmUp(): boolean {
    documented(() => (typesLoaded ? warmUpDocs() : warmUpTypes()));
    return !docsLoaded;
  }

  function documented(work: () => void): void {
    const before = withDocs;
    withDocs = true;
    try {
      work();
    } finally {
      withDocs = before;
    }
  }

  function warmUpTypes(): void {
    if (!warming) {
      warming = { queue: [], seen: new Set() };
      for (const name of ts.getAutomaticTypeDirectiveNames(compilerOptions, host)) {
        enqueue(resolveTypeReference(name, join(rootDir, INFERRED_TYPES_FILE), undefined));
      }
      return;
    }
    const next = warming.queue.shift();
    if (next !== undefined) {
      warmFile(next);
      return;
    }
    warming = undefined;
    typesLoaded = true;
    // They were found without the @types packages.
    moduleDiagnostics.clear();
  }

  function warmUpDocs(): void {
    if (docsLoaded) return;
    if (!documenting) {
      documenting = [...parsed].filter(([, entry]) => !entry.docs).map(([fileName]) => fileName);
      return;
    }
    const next = documenting.shift();
    if (next !== undefined) {
      // It takes the place of the copy without documentation; the next program binds nothing.
      const file = sourceFile(next, parseSettings(next));
      if (file) internals.bindSourceFile?.(file, compilerOptions);
      return;
    }
    documenting = undefined;
    docsLoaded = true;
  }

  /** Finishes loading the @types packages now: from here on, cells are checked with everything. */
  function loadTypes(): void {
    while (!typesLoaded) warmUpTypes();
  }

  /** Finishes the warm-up now. */
  function loadDocs(): void {
    documented(() => {
      loadTypes();
      while (!docsLoaded) warmUpDocs();
    });
  }

  function enqueue(fileName: string | undefined): void {
    if (fileName === undefined || warming!.seen.has(fileName)) return;
    warming!.seen.add(fileName);
    warming!.queue.push(fileName);
  }

  function warmFile(fileName: string): void {
    // A user's own file may change before the program reads it: the program parses it then.
    const file = isLocal(fileName) ? undefined : sourceFile(fileName, parseSettings(fileName));
    if (!file) return;
    internals.bindSourceFile?.(file, compilerOptions);
    const directory = dirname(file.fileName);
    for (const reference of file.referencedFiles) {
      const path = resolve(directory, reference.fileName);
      enqueue([path, `${path}.d.ts`, `${path}.ts`].find((candidate) => ts.sys.fileExists(candidate)));
    }
    for (const reference of file.typeReferenceDirectives) {
      enqueue(resolveTypeReference(reference.fileName.toLowerCase(), file.fileName, ts.getModeForFileReference(reference, file.impliedNodeFormat)));
    }
    for (const reference of file.libReferenceDirectives) {
      const lib = internals.libMap?.get(reference.fileName.toLowerCase());
      if (lib) enqueue(join(libDirectory, lib));
    }
    for (const specifier of declaredModuleSpecifiers(ts, file)) {
      const resolved = ts.resolveModuleName(specifier.text, file.fileName, compilerOptions, host, resolutionCache, undefined, ts.getModeForUsageLocation(file, specifier, compilerOptions)).resolvedModule;
      if (resolved && /\.d\.[cm]?ts$|\.[cm]?tsx?$/.test(resolved.resolvedFileName)) enqueue(resolved.resolvedFileName);
    }
  }

  function resolveTypeReference(name: string, containingFile: string, mode: TS.ResolutionMode): string | undefined {
    return ts.resolveTypeReferenceDirective(name, containingFile, compilerOptions, host, undefined, typeReferenceCache, mode).resolvedTypeReferenceDirective?.resolvedFileName;
  }

  /** How a program of `compilerOptions` parses `fileName` (TypeScript's getCreateSourceFileOptions). */
  function parseSettings(fileName: string): TS.CreateSourceFileOptions {
    return {
      languageVersion: compilerOptions.target!,
      impliedNodeFormat: ts.getImpliedNodeFormatForFile(fileName, resolutionCache.getPackageJsonInfoCache(), host, compilerOptions),
      setExternalModuleIndicator,
    };
  }

  function toDiagnostic(diagnostic: TS.Diagnostic, cellFile: string): Diagnostic {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return { line: 1, column: 1, message };
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const file = diagnostic.file.fileName === cellFile ? undefined : relative(rootDir, diagnostic.file.fileName);
    return { line: line + 1, column: character + 1, message, ...(file === undefined ? {} : { file }) };
  }

  /** The local TypeScript modules `file` imports, directly or through each other. */
  function localModulesOf(current: TS.Program, file: TS.SourceFile): TS.SourceFile[] {
    const checker = current.getTypeChecker();
    const found = new Map<string, TS.SourceFile>();
    const visit = (from: TS.SourceFile) => {
      for (const specifier of moduleSpecifiersOf(ts, from)) {
        const module = checker.getSymbolAtLocation(specifier)?.valueDeclaration;
        if (!module || !ts.isSourceFile(module) || found.has(module.fileName)) continue;
        if (module.isDeclarationFile || !isLocal(module.fileName) || !/\.[cm]?tsx?$/.test(module.fileName)) continue;
        found.set(module.fileName, module);
        visit(module);
      }
    };
    visit(file);
    return [...found.values()];
  }

  function diagnosticsOfModule(current: TS.Program, module: TS.SourceFile, cancellation: TS.CancellationToken): Diagnostic[] {
    const version = versionOf(module.fileName) ?? '';
    const known = moduleDiagnostics.get(module.fileName);
    if (known && known.version === version) return known.diagnostics;
    const diagnostics = [...current.getSyntacticDiagnostics(module), ...current.getSemanticDiagnostics(module, cancellation)]
      .filter((d) => d.category === ts.DiagnosticCategory.Error)
      .map((d) => toDiagnostic(d, ''));
    moduleDiagnostics.set(module.fileName, { version, diagnostics });
    return diagnostics;
  }

  function compile(code: string, isCancelled: () => boolean = () => false): CompileOutcome {
    if (pending) discard(pending.id);
    const id = nextId++;
    const names = topLevelNames(ts, code);
    // Exporting every top-level name makes TypeScript's CommonJS emit keep them in `exports`, and
    // its declaration emit describe them all.
    const text = `${code}\nexport { ${names.join(', ')} };\n`;
    virtual.set(cellFile, { text, version: ++nextVersion, parent: lastDeclarationFile() });
    const cancellation: TS.CancellationToken = {
      isCancellationRequested: isCancelled,
      throwIfCancellationRequested() {
        if (isCancelled()) throw new ts.OperationCanceledException();
      },
    };
    try {
      let checked = check(typesLoaded ? compilerOptions : withoutTypes, cancellation);
      if (checked.diagnostics.length > 0 && !typesLoaded) {
        // Perhaps only for want of the @types packages: the full program has the last word.
        loadTypes();
        checked = check(compilerOptions, cancellation);
      }
      const { current, cell, topLevelAwait, modules, diagnostics } = checked;
      if (diagnostics.length > 0) {
        // Failed resolutions are cached too: forget them, so that the package installed or the
        // file written after this error is found when the cell runs again.
        if (checked.moduleNotFound) resolutionCache.clear();
        return { status: 'error', diagnostics };
      }

      const checker = current.getTypeChecker();
      const valueNames = names.filter((name) => isValue(ts, checker, cell, name));
      let js = '';
      let declarations = '';
      current.emit(
        cell,
        (fileName, output) => {
          if (fileName.endsWith('.d.ts')) declarations = output;
          else if (fileName.endsWith('.js')) js = output;
        },
        cancellation,
        false,
        {
          before: [lastExpressionAsReturn(ts, cell), sessionReferences(ts, checker, cell, (file) => slotNames.has(file))],
          after: [withoutExportInitialisation(ts)],
        },
      );
      const compiledModules: CompiledCell['modules'] = [];
      for (const module of modules) {
        const version = versionOf(module.fileName) ?? '';
        if (emittedModules.get(module.fileName) === version) continue;
        current.emit(module, (fileName, output) => {
          if (fileName.endsWith('.js')) compiledModules.push({ path: module.fileName.replace(/\.([cm]?)tsx?$/, '.$1js'), js: output });
        }, cancellation);
        emittedModules.set(module.fileName, version);
      }
      pending = { id, declarations, valueNames };
      return { status: 'ok', cell: { id, js, topLevelAwait, valueNames, modules: compiledModules } };
    } catch (error) {
      if (error instanceof ts.OperationCanceledException) return { status: 'cancelled' };
      throw error;
    }
  }

  /** Builds the program of `settings` with the current cell, and checks the cell and the local modules it imports. */
  function check(settings: TS.CompilerOptions, cancellation: TS.CancellationToken) {
    const current = buildProgram(settings);
    const cell = current.getSourceFile(cellFile)!;
    let topLevelAwait = false;
    const errors = [
      ...current.getOptionsDiagnostics(),
      ...current.getSyntacticDiagnostics(cell),
      ...current.getSemanticDiagnostics(cell, cancellation),
      ...current.getGlobalDiagnostics(),
    ].filter((d) => {
      if (d.file === cell && TOP_LEVEL_AWAIT_CODES.has(d.code)) {
        topLevelAwait = true;
        return false;
      }
      return d.category === ts.DiagnosticCategory.Error;
    });
    const modules = localModulesOf(current, cell);
    const diagnostics = [
      ...errors.map((d) => toDiagnostic(d, cellFile)),
      ...modules.flatMap((module) => diagnosticsOfModule(current, module, cancellation)),
    ];
    const moduleNotFound = errors.some((d) => MODULE_NOT_FOUND_CODES.has(d.code));
    return { current, cell, topLevelAwait, modules, diagnostics, moduleNotFound };
  }

  function commit(id: number, keep?: readonly string[]): void {
    if (!pending || pending.id !== id) throw new Error(`cell ${id} is not waiting to be committed`);
    const { declarations, valueNames } = pending;
    pending = undefined;
    // A cell that declares nothing (an expression, a loop) leaves no file behind.
    if (/^\s*export\s*\{\s*\};?\s*$/.test(declarations)) return;
    const forgotten = keep ? valueNames.filter((name) => !keep.includes(name)) : [];
    const text = forgotten.length > 0 ? withoutDeclarationsOf(ts, declarations, new Set(forgotten)) : declarations;
    // compile() made a slot free for it.
    virtual.set(slots[committedSlots], { text, version: ++nextVersion, parent: lastDeclarationFile() });
    committedSlots += 1;
  }

  function discard(id: number): void {
    if (!pending || pending.id !== id) return;
    pending = undefined;
  }

  // Completion and hover come from a language service over the same files: its programs take
  // their source files from `sourceFile` (a document registry that parses nothing itself), so
  // nothing is parsed twice. It runs on a scratch file holding the code being typed.
  let languageService: TS.LanguageService | undefined;
  const scratchFile = join(rootDir, SCRATCH_NAME);

  function serviceFor(code: string): TS.LanguageService {
    virtual.set(scratchFile, { text: `${code}\nexport {};\n`, version: ++nextVersion, parent: lastDeclarationFile() });
    languageService ??= ts.createLanguageService(
      {
        getCompilationSettings: () => compilerOptions,
        getScriptFileNames: () => [...slots, scratchFile],
        getScriptVersion: (fileName) => versionOf(fileName) ?? '',
        getScriptSnapshot: (fileName) => {
          const file = sourceFile(fileName, ts.ScriptTarget.ES2022);
          return file && ts.ScriptSnapshot.fromString(file.text);
        },
        getCurrentDirectory: () => rootDir,
        getDefaultLibFileName: (settings) => ts.getDefaultLibFilePath(settings),
        fileExists: host.fileExists,
        readFile: host.readFile,
        directoryExists: ts.sys.directoryExists,
        getDirectories: ts.sys.getDirectories,
        realpath: ts.sys.realpath,
        useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
        resolveModuleNameLiterals: host.resolveModuleNameLiterals,
        resolveTypeReferenceDirectiveReferences: host.resolveTypeReferenceDirectiveReferences,
      },
      sharedDocuments(ts, sourceFile),
    );
    return languageService;
  }

  return {
    compile,
    commit,
    discard,
    warmUp,
    complete(code, cursor) {
      // Completion lists every global, Node's among them.
      loadTypes();
      const service = serviceFor(code);
      const info = service.getCompletionsAtPosition(scratchFile, cursor, {});
      const span = info?.optionalReplacementSpan ?? identifierSpanAt(code, cursor);
      const typed = code.slice(span.start, cursor);
      return { matches: rankCompletions(info?.entries ?? [], typed), cursorStart: span.start, cursorEnd: span.start + span.length };
    },
    inspect(code, cursor) {
      // Hover shows documentation, the standard library's among it.
      loadDocs();
      const info = serviceFor(code).getQuickInfoAtPosition(scratchFile, cursor);
      if (!info) return null;
      const signature = ts.displayPartsToString(info.displayParts);
      const documentation = ts.displayPartsToString(info.documentation);
      return documentation ? `${signature}\n\n${documentation}` : signature;
    },
  };
}

/**
 * tslab's settings, so that notebooks check as they did: not strict, CommonJS modules resolved as
 * Node 10 does, ES2022 (Node 20), every `@types` package of the notebook's folder.
 */
function compilerOptionsFor(ts: typeof TS, rootDir: string, fallbackTypeRoots: string[]): TS.CompilerOptions {
  // TypeScript's default: node_modules/@types of the folder and of each folder above it.
  const typeRoots: string[] = [];
  for (let dir = rootDir; ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', '@types');
    if (ts.sys.directoryExists(root)) typeRoots.push(root);
    if (dirname(dir) === dir) break;
  }
  const hasNode = typeRoots.some((root) => ts.sys.fileExists(join(root, 'node', 'package.json')));
  // Without one, the kernel's own @types/node, and nothing else of its folder: the @types of the
  // kernel's dependencies are there too (chai, estree, ...), and no notebook's business.
  const types = hasNode ? undefined : [...ts.getAutomaticTypeDirectiveNames({ typeRoots }, ts.sys), 'node'];
  return {
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    // No lookup of @typescript/lib-* packages in every folder above, for every program.
    libReplacement: false,
    esModuleInterop: true,
    experimentalDecorators: true,
    resolveJsonModule: true,
    jsx: ts.JsxEmit.React,
    allowJs: true,
    declaration: true,
    skipLibCheck: true,
    newLine: ts.NewLineKind.LineFeed,
    // Never written: set so that a local .js module is not "overwritten by its own output".
    outDir: join(rootDir, `${VIRTUAL_PREFIX}out`),
    typeRoots: hasNode ? typeRoots : [...typeRoots, ...fallbackTypeRoots],
    ...(types ? { types } : {}),
  };
}

/** A document registry that hands out the compiler's own parsed files (see `serviceFor`). */
function sharedDocuments(
  ts: typeof TS,
  sourceFile: (fileName: string, languageVersion: TS.ScriptTarget | TS.CreateSourceFileOptions) => TS.SourceFile | undefined,
): TS.DocumentRegistry {
  const acquire = (fileName: string, _settings: unknown, _snapshot: unknown, _version: unknown, _kind?: unknown, options?: TS.CreateSourceFileOptions | TS.ScriptTarget) => {
    const file = sourceFile(fileName, options ?? ts.ScriptTarget.ES2022);
    if (!file) throw new Error(`no source for ${fileName}`);
    return file;
  };
  return {
    acquireDocument: acquire,
    updateDocument: acquire,
    acquireDocumentWithKey: (fileName, _path, settings, _key, snapshot, version, kind, options) => acquire(fileName, settings, snapshot, version, kind, options),
    updateDocumentWithKey: (fileName, _path, settings, _key, snapshot, version, kind, options) => acquire(fileName, settings, snapshot, version, kind, options),
    getKeyForCompilationSettings: () => 'cells' as TS.DocumentRegistryBucketKey,
    releaseDocument: () => undefined,
    releaseDocumentWithKey: () => undefined,
    reportStats: () => '',
    getBuckets: () => new Map(),
  } as TS.DocumentRegistry;
}

/** Every module specifier of a file: imports, re-exports, `import x = require()` and `import()`. */
function moduleSpecifiersOf(ts: typeof TS, file: TS.SourceFile): TS.StringLiteralLike[] {
  const specifiers: TS.StringLiteralLike[] = [];
  const add = (node: TS.Node | undefined) => {
    if (node && ts.isStringLiteralLike(node)) specifiers.push(node);
  };
  const visit = (node: TS.Node) => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node.arguments[0]);
    ts.forEachChild(node, visit);
  };
  visit(file);
  return specifiers;
}

/**
 * The module specifiers of a declaration file's imports and re-exports, at top level and in
 * `declare module "x" { ... }` blocks (where @types/node imports its modules from each other):
 * what the warm-up follows, without walking every type of the file.
 */
function declaredModuleSpecifiers(ts: typeof TS, file: TS.SourceFile): TS.StringLiteralLike[] {
  const specifiers: TS.StringLiteralLike[] = [];
  const visit = (statements: readonly TS.Statement[]) => {
    for (const statement of statements) {
      if ((ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteralLike(statement.moduleSpecifier)) {
        specifiers.push(statement.moduleSpecifier);
      } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteralLike(statement.moduleReference.expression)) {
        specifiers.push(statement.moduleReference.expression);
      } else if (ts.isModuleDeclaration(statement)) {
        let body = statement.body;
        while (body && ts.isModuleDeclaration(body)) body = body.body;
        if (body && ts.isModuleBlock(body)) visit(body.statements);
      }
    }
  };
  visit(file.statements);
  return specifiers;
}

/** The names a cell declares at top level, read from its syntax (TypeScript's `locals` need a binder). */
export function topLevelNames(ts: typeof TS, code: string): string[] {
  const file = ts.createSourceFile('cell.ts', code, ts.ScriptTarget.ES2022, false);
  const names = new Set<string>();
  const addBinding = (name: TS.BindingName) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) addBinding(element.name);
  };
  for (const statement of file.statements) {
    // Already exported by the user: TypeScript keeps it in `exports` anyway.
    if (ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) addBinding(declaration.name);
    } else if (
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement)
    ) {
      if (statement.name) names.add(statement.name.text);
    } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name) && !(statement.flags & ts.NodeFlags.GlobalAugmentation)) {
      names.add(statement.name.text);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      names.add(statement.name.text);
    }
  }
  return [...names];
}

function isValue(ts: typeof TS, checker: TS.TypeChecker, cell: TS.SourceFile, name: string): boolean {
  const locals = (cell as unknown as { locals?: Map<string, TS.Symbol> }).locals;
  let symbol = locals?.get(ts.escapeLeadingUnderscores(name) as string);
  if (!symbol) return false;
  if (symbol.flags & ts.SymbolFlags.Alias) {
    if (symbol.declarations?.some((d) => ts.isTypeOnlyImportOrExportDeclaration(d))) return false;
    symbol = checker.getAliasedSymbol(symbol);
  }
  return (symbol.flags & ts.SymbolFlags.Value) !== 0;
}

/** `expr;` as the cell's last statement becomes `return expr;`: the cell's value. */
function lastExpressionAsReturn(ts: typeof TS, cell: TS.SourceFile): TS.TransformerFactory<TS.SourceFile> {
  return (context) => (file) => {
    if (file.fileName !== cell.fileName) return file;
    // The last statement is our `export { ... }`.
    const index = file.statements.length - 2;
    const last = file.statements[index];
    if (!last || !ts.isExpressionStatement(last)) return file;
    const statements = [...file.statements];
    statements[index] = ts.setTextRange(context.factory.createReturnStatement(last.expression), last);
    return context.factory.updateSourceFile(file, statements);
  };
}

/**
 * Names of the session live in `exports` (the runner's object), and are read and written there:
 * a name declared by an earlier cell, and a `let` or `var` of this cell (so that a function of
 * this cell sees what a later cell assigns, as a Python function sees a global). The checker says
 * which identifiers are such references; property names, declarations of other names and types
 * are left alone. A `const`, function, class or import of this cell stays a local binding, which
 * TypeScript's CommonJS emit copies into `exports` once assigned: it cannot be assigned again.
 */
function sessionReferences(
  ts: typeof TS,
  checker: TS.TypeChecker,
  cell: TS.SourceFile,
  isDeclarationFile: (fileName: string) => boolean,
): TS.TransformerFactory<TS.SourceFile> {
  const isEarlierCellValue = (symbol: TS.Symbol | undefined) =>
    symbol !== undefined &&
    (symbol.flags & (ts.SymbolFlags.Value | ts.SymbolFlags.Alias)) !== 0 &&
    (symbol.declarations ?? []).some((d) => d.parent !== undefined && topLevelIn(ts, d, isDeclarationFile));
  const mutableStatements = cell.statements.filter(
    (s): s is TS.VariableStatement =>
      ts.isVariableStatement(s) &&
      // `let` and `var`; not `const`, and not `using`, whose disposal an assignment would lose.
      ((s.declarationList.flags & ts.NodeFlags.Let) !== 0 || (s.declarationList.flags & ts.NodeFlags.BlockScoped) === 0) &&
      !(ts.getModifiers(s) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword || m.kind === ts.SyntaxKind.ExportKeyword),
  );
  const mutable = new Set<TS.Symbol>();
  const addNames = (name: TS.BindingName) => {
    if (ts.isIdentifier(name)) {
      const symbol = checker.getSymbolAtLocation(name);
      if (symbol) mutable.add(symbol);
    } else {
      for (const element of name.elements) if (!ts.isOmittedExpression(element)) addNames(element.name);
    }
  };
  for (const statement of mutableStatements) for (const declaration of statement.declarationList.declarations) addNames(declaration.name);
  const inSession = (symbol: TS.Symbol | undefined) => symbol !== undefined && (mutable.has(symbol) || isEarlierCellValue(symbol));

  return (context) => (file) => {
    if (file.fileName !== cell.fileName) return file;
    const { factory } = context;
    const exportsOf = (name: TS.Identifier | string) =>
      factory.createPropertyAccessExpression(factory.createIdentifier('exports'), typeof name === 'string' ? name : name.text);

    /** `let { a, b: [c] } = v` → `({ a: exports.a, b: [exports.c] } = v)`. */
    const assignmentTarget = (name: TS.BindingName): TS.Expression => {
      if (ts.isIdentifier(name)) return exportsOf(name);
      if (ts.isObjectBindingPattern(name)) {
        return factory.createObjectLiteralExpression(
          name.elements.map((element) => {
            const target = withDefault(element);
            if (element.dotDotDotToken) return factory.createSpreadAssignment(target);
            const property = element.propertyName ?? (element.name as TS.Identifier);
            return factory.createPropertyAssignment(visitNode(property) as TS.PropertyName, target);
          }),
        );
      }
      return factory.createArrayLiteralExpression(
        name.elements.map((element) => {
          if (ts.isOmittedExpression(element)) return factory.createOmittedExpression();
          const target = withDefault(element);
          return element.dotDotDotToken ? factory.createSpreadElement(target) : target;
        }),
      );
    };
    const withDefault = (element: TS.BindingElement): TS.Expression =>
      element.initializer
        ? factory.createAssignment(assignmentTarget(element.name), visitNode(element.initializer) as TS.Expression)
        : assignmentTarget(element.name);

    const declarationAsAssignments = (statement: TS.VariableStatement): TS.Statement[] =>
      statement.declarationList.declarations.map((declaration) =>
        ts.setTextRange(
          factory.createExpressionStatement(
            factory.createAssignment(
              assignmentTarget(declaration.name),
              declaration.initializer ? (visitNode(declaration.initializer) as TS.Expression) : factory.createIdentifier('undefined'),
            ),
          ),
          declaration,
        ),
      );

    const visitNode = (node: TS.Node): TS.Node => {
      if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return node;
      if (ts.isShorthandPropertyAssignment(node) && inSession(checker.getShorthandAssignmentValueSymbol(node))) {
        // `({ hits = 1 } = o)` keeps its default: `({ hits: exports.hits = 1 } = o)`.
        const fallback = node.objectAssignmentInitializer;
        const target = exportsOf(node.name);
        return factory.createPropertyAssignment(node.name.text, fallback ? factory.createAssignment(target, visitNode(fallback) as TS.Expression) : target);
      }
      if (ts.isIdentifier(node)) return isReference(ts, node) && inSession(checker.getSymbolAtLocation(node)) ? exportsOf(node) : node;
      return ts.visitEachChild(node, visitNode, context);
    };

    const statements = file.statements.flatMap((statement) =>
      mutableStatements.includes(statement as TS.VariableStatement)
        ? declarationAsAssignments(statement as TS.VariableStatement)
        : [visitNode(statement) as TS.Statement],
    );
    return factory.updateSourceFile(file, statements);
  };
}

/** Whether `declaration` is a top-level declaration of one of the files `isFile` accepts. */
function topLevelIn(ts: typeof TS, declaration: TS.Declaration, isFile: (fileName: string) => boolean): boolean {
  let node: TS.Node = declaration;
  while (node.parent && !ts.isSourceFile(node.parent)) {
    // Inside a function, class or namespace: not top level.
    if (ts.isBlock(node.parent) || ts.isModuleBlock(node.parent) || ts.isClassLike(node.parent) || ts.isFunctionLike(node.parent)) return false;
    node = node.parent;
  }
  return node.parent !== undefined && isFile((node.parent as TS.SourceFile).fileName);
}

/** An identifier that reads or writes a variable (not a declaration's name, a property name or a label). */
function isReference(ts: typeof TS, node: TS.Identifier): boolean {
  const parent = node.parent as TS.Node & { name?: TS.Node; propertyName?: TS.Node; label?: TS.Node };
  if (!parent) return false;
  // Declarations, property accesses and assignments, methods, JSX attributes, import and export
  // specifiers name things with `name`; `{ x }` is the one such name that also reads a variable.
  if (parent.name === node) return ts.isShorthandPropertyAssignment(parent);
  if (parent.propertyName === node || parent.label === node) return false;
  if (ts.isQualifiedName(parent) || ts.isMetaProperty(parent)) return false;
  return true;
}

/**
 * Drops the `exports.a = exports.b = void 0;` TypeScript puts first: a name of the cell is in
 * `exports` only once the cell assigned it, so that an interrupted cell keeps what it assigned
 * and nothing else (and does not wipe an earlier cell's value of a name it never reached).
 */
function withoutExportInitialisation(ts: typeof TS): TS.TransformerFactory<TS.SourceFile> {
  const isInitialisation = (node: TS.Expression): boolean =>
    ts.isBinaryExpression(node) &&
    node.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
    ts.isPropertyAccessExpression(node.left) &&
    ts.isIdentifier(node.left.expression) &&
    node.left.expression.text === 'exports' &&
    (ts.isVoidExpression(node.right) || isInitialisation(node.right));
  return (context) => (file) =>
    context.factory.updateSourceFile(
      file,
      file.statements.filter((s) => !(ts.isExpressionStatement(s) && isInitialisation(s.expression))),
    );
}

/** A cell's declaration file without the declarations of `names` (what an interrupted cell never assigned). */
export function withoutDeclarationsOf(ts: typeof TS, declarations: string, names: ReadonlySet<string>): string {
  const file = ts.createSourceFile('cell.d.ts', declarations, ts.ScriptTarget.ES2022, true);
  const { factory } = ts;
  const kept: TS.Statement[] = [];
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      const declarations = statement.declarationList.declarations.filter((d) => !(ts.isIdentifier(d.name) && names.has(d.name.text)));
      if (declarations.length > 0) {
        kept.push(factory.updateVariableStatement(statement, statement.modifiers, factory.updateVariableDeclarationList(statement.declarationList, declarations)));
      }
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) &&
      statement.name &&
      ts.isIdentifier(statement.name) &&
      names.has(statement.name.text)
    ) {
      continue;
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      const name = clause.name && names.has(clause.name.text) ? undefined : clause.name;
      let bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings) && names.has(bindings.name.text)) bindings = undefined;
      if (bindings && ts.isNamedImports(bindings)) {
        const elements = bindings.elements.filter((e) => !names.has(e.name.text));
        bindings = elements.length > 0 ? factory.updateNamedImports(bindings, elements) : undefined;
      }
      if (!name && !bindings) continue;
      kept.push(factory.updateImportDeclaration(statement, statement.modifiers, factory.updateImportClause(clause, clause.phaseModifier, name, bindings), statement.moduleSpecifier, statement.attributes));
    } else if (ts.isImportEqualsDeclaration(statement) && names.has(statement.name.text)) {
      continue;
    } else if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      const elements = statement.exportClause.elements.filter((e) => !names.has(e.name.text));
      kept.push(factory.updateExportDeclaration(statement, statement.modifiers, statement.isTypeOnly, factory.updateNamedExports(statement.exportClause, elements), statement.moduleSpecifier, statement.attributes));
    } else {
      kept.push(statement);
    }
  }
  return ts.createPrinter({ newLine: ts.NewLineKind.LineFeed }).printFile(factory.updateSourceFile(file, kept));
}

/** The identifier being typed at `cursor` (completion without a replacement span from TypeScript). */
function identifierSpanAt(code: string, cursor: number): { start: number; length: number } {
  let start = cursor;
  while (start > 0 && /[\w$]/.test(code[start - 1])) start -= 1;
  let end = cursor;
  while (end < code.length && /[\w$]/.test(code[end])) end += 1;
  return { start, length: end - start };
}

/** Names starting with what was typed first, then those starting with it in another case, then those containing it. */
function rankCompletions(entries: readonly TS.CompletionEntry[], typed: string): string[] {
  const lower = typed.toLowerCase();
  const rank = (name: string) => (name.startsWith(typed) ? 0 : name.toLowerCase().startsWith(lower) ? 1 : name.toLowerCase().includes(lower) ? 2 : -1);
  return entries
    .map((entry, index) => ({ name: entry.name, rank: rank(entry.name), sortText: entry.sortText, index }))
    .filter((entry) => entry.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name) || a.index - b.index)
    .map((entry) => entry.name);
}
