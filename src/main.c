/* kashguard: one binary that is both the server (`kashguard server`) and
 * the command-line client of its REST API (every other command). */
#include "kashguard/cli.h"

int main(int argc, char **argv)
{
    return kg_cli_main(argc, argv);
}
