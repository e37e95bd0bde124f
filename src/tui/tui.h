/* tui.h: the workbench front end (tui.c): runs it on the session until the user quits; returns
 * the program's exit status (frontend.h). */
#ifndef ADOPT_TUI_H
#define ADOPT_TUI_H

#include "frontend.h"

int tui_main(const struct front_opts *o);

#endif
