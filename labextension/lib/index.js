// sfnotebook's JupyterLab extension: a code cell whose first line is a %%soql magic is
// highlighted as SQL, every other code cell as the kernel's language.
//
// JupyterLab gives each code cell's model a MIME type (the kernel's language, for example
// text/x-ipython) and its CodeMirror editor reloads its language whenever that MIME type
// changes (CodeMirrorEditor listens to model.mimeTypeChanged). So the extension only sets the
// cell model's MIME type: text/x-sql (JupyterLab's own SQL mode, @codemirror/lang-sql) for a
// %%soql cell, the notebook's codeMimetype for the others. The notebook sets every cell's MIME
// type again when a cell is inserted or the kernel's language changes; the extension answers
// each mimeTypeChanged, so a %%soql cell stays SQL. Nothing is saved in the notebook file.
//
// Plain JavaScript (no TypeScript step); built into a prebuilt extension by
// `jupyter-builder build` (make labextension), so JupyterLab needs no rebuild.

import { INotebookTracker } from '@jupyterlab/notebook';

// IPython finds a cell magic after dropping leading blank lines and indentation
// (IPython.core.inputtransformer2: leading_empty_lines, leading_indent, cell_magic): so does this.
const SOQL_MAGIC = /^\s*%%soql(\s|$)/;
const SQL = 'text/x-sql';

function follow(notebook, cell) {
  if (cell.type !== 'code' || cell.isDisposed) {
    return;
  }
  const apply = () => {
    if (cell.isDisposed) {
      return;
    }
    const source = cell.sharedModel.getSource();
    const wanted = SOQL_MAGIC.test(source) ? SQL : notebook.codeMimetype;
    if (cell.mimeType !== wanted) {
      cell.mimeType = wanted; // emits mimeTypeChanged once more, which then finds it right
    }
  };
  cell.sharedModel.changed.connect((_, change) => {
    if (change.sourceChange) {
      apply();
    }
  });
  cell.mimeTypeChanged.connect(apply);
  apply();
}

function watch(panel) {
  const notebook = panel.content;
  const attach = () => {
    const model = notebook.model;
    if (!model) {
      return;
    }
    for (const cell of model.cells) {
      follow(notebook, cell);
    }
    model.cells.changed.connect((_, change) => {
      if (change.type === 'add' || change.type === 'set') {
        for (const cell of change.newValues) {
          follow(notebook, cell);
        }
      }
    });
  };
  notebook.modelChanged.connect(attach);
  attach();
}

const plugin = {
  id: 'sfnotebook-soql:highlight',
  description: 'Highlights %%soql cells as SQL.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker) => {
    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};

export default plugin;
