// Loaded by the classic Jupyter Notebook (Notebook 6) from this kernelspec when a notebook uses
// the lakebase kernel (JupyterLab and VS Code do not load a kernelspec's JavaScript; there a
// `%%lakebase` cell is highlighted as TypeScript, the notebook's language).
//
// It registers `%%lakebase` cells with Notebook 6's highlight modes, the way IPython registers
// `%%javascript` or `%%bash` (notebook/js/codecell.js, `highlight_modes`): the magic line is
// drawn as a magic, the body as PostgreSQL (CodeMirror's `text/x-pgsql`), and the cell goes back
// to TypeScript when its first line stops being `%%lakebase`.
define(['notebook/js/codecell'], function (codecell) {
  'use strict';

  function onload() {
    codecell.CodeCell.options_default.highlight_modes['magic_text/x-pgsql'] = { reg: ['^%%lakebase'] };
    // Cells drawn before this file arrived were highlighted without it.
    var notebook = window.Jupyter && window.Jupyter.notebook;
    if (notebook) {
      notebook.get_cells().forEach(function (cell) {
        if (cell.cell_type === 'code') cell.auto_highlight();
      });
    }
  }

  return { onload: onload };
});
