"""Everything a person reads: labels, tables for the terminal / JSON / artifacts (tables.py), Excel
workbooks (xlsx.py), the period summary rendered from a jinja2 template (summary.py, templates/);
Word documents in the Nghị định 30/2020 layout (nd30_docx.py, inspection_docs.py, monthly.py),
reminder digests (reminders.py).

Number and date formats are the pure helpers of `cchc.domain.text` (the domain's own messages use
them too): one formatter each for counts ('2.284'), decimals ('3,25') and rates ('95,25%').
A ward overrides any template from its own folder (configuration `templates_dir`).
"""
