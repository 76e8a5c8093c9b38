// The isoflop CLI: each subcommand registers itself on the root app. The CLI holds
// no logic: it parses flags, calls one library function, prints the result.
#ifndef ISOFLOP_CLI_COMMANDS_H_
#define ISOFLOP_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "isoflop/status.h"

namespace isoflop::cli {

// Exit codes shared by every subcommand (README.md, "Exit codes"): 0 ok; 2 bad input — a bad flag
// or value, a missing, unreadable or malformed file, an unknown run (kInvalidArgument, kNotFound,
// kCorruption); 1 anything else (the OS, a service, an infeasible request, a bug). `isoflop train`
// has the trainer's codes (docs/interfaces.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Filled by the subcommand's callback; main() returns it.
struct CommandContext {
  int exit_code = kExitOk;
};

// The exit code for a Status (above).
int ExitCodeFor(const Status& status);

// Prints "isoflop <command>: <message>" on stderr and returns the exit code for a Status.
int ReportError(const char* command, const Status& status);

void RegisterFitCommand(CLI::App& app, CommandContext& ctx);
void RegisterPlanCommands(CLI::App& app, CommandContext& ctx);  // plan, perf
void RegisterServeCommand(CLI::App& app, CommandContext& ctx);  // serve-perf
void RegisterPredictCommand(CLI::App& app, CommandContext& ctx);
void RegisterDataCommand(CLI::App& app, CommandContext& ctx);
void RegisterDataExportCommands(CLI::App& data, CommandContext& ctx);  // data export, data tokenizer export
void RegisterTrainCommand(CLI::App& app, CommandContext& ctx);

// `isoflop train ARGS...`: replaces this process with isoflop-train (beside this binary) and ARGS.
// Returns only when that fails (exit code 1, message on stderr).
int ExecTrainer(int argc, char** argv);
void RegisterOrchestratorCommands(CLI::App& app, CommandContext& ctx);  // sweep, daemon, status, cancel, logs
void RegisterReportCommand(CLI::App& app, CommandContext& ctx);
void RegisterRunsCommands(CLI::App& app, CommandContext& ctx);  // runs import, runs export

}  // namespace isoflop::cli

#endif  // ISOFLOP_CLI_COMMANDS_H_
