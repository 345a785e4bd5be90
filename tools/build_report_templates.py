"""Regenerate the Word templates shipped in cchc/report/templates/ (docxtpl tags in the Nghị định
30/2020 layout). Run from the repository root:

    PYTHONPATH=$PWD python tools/build_report_templates.py

A ward that wants its own wording copies a template into its `templates_dir` and edits it in Word.
"""

from cchc.report import inspection_docs, monthly

if __name__ == "__main__":
    for path in [*inspection_docs.build_templates(), *monthly.build_templates()]:
        print(path)
