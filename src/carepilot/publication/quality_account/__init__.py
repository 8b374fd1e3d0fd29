"""Quality accounts: provider inputs + engine results → HTML and PDF.

`inputs.load_inputs` reads the provider-written files, `assemble.assemble` builds
the `model.QualityAccount` from released results, `render.write` writes HTML and
PDF (WeasyPrint).
"""
