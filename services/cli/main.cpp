// millrace: the command-line tool. Wiring only; the commands live in
// libs/cli.
#include "millrace/cli/cli.hpp"

int main(int argc, char** argv) {
  return millrace::cli::main(argc, argv);
}
