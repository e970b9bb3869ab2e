/*
 * scepgw: a SCEP (RFC 8894) gateway that orders certificates from
 * GlobalSign's Enterprise PKI. See cli/cli.c for the commands.
 */
#include "cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
