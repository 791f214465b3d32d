"""Python compiled by pyside6-uic from the Qt Designer forms in ui/ (`make ui`); never edited by
hand. tests/unit/test_forms.py checks each is what the compiler makes of its form today."""
