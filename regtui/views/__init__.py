"""How runs look: formats, styles, text plots, the console view, tables, comparisons, exports."""
