/* main.c: placeholder until the command line lands. */
#include <stdio.h>
int main(void)
{
	puts("adopt-tui " ADOPT_VERSION);
	return 0;
}
