// The name of the function through which TypeScript cells call their line magics (cell-plan.ts),
// in a module of its own: the kernel declares it in its prelude before it loads anything else
// (kernel/prelude.ts), so that the compiler thread starts first.

/** The name the kernel defines for the generated calls. */
export const MAGIC_FUNCTION = 'lakebase$magic';
