"""Qt front end: thin widgets over desktop.core; all slow work goes through gui.worker."""
