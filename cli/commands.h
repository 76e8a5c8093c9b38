// The isoflop CLI: each subcommand registers itself on the root app. The CLI holds
// no logic: it parses flags, calls one library function, prints the result.
#ifndef ISOFLOP_CLI_COMMANDS_H_
#define ISOFLOP_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>

#include "isoflop/status.h"

namespace isoflop::cli {

// Exit codes shared by every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

// Filled by the subcommand's callback; main() returns it.
struct CommandContext {
  int exit_code = kExitOk;
};

// Prints "isoflop <command>: <message>" on stderr and returns the exit code for a Status.
int ReportError(const char* command, const Status& status);

// A missing input file is bad input for the user (exit 2), whatever the library calls it.
Status AsBadInput(const Status& s);

void RegisterFitCommand(CLI::App& app, CommandContext& ctx);
void RegisterPlanCommands(CLI::App& app, CommandContext& ctx);  // plan, perf
void RegisterPredictCommand(CLI::App& app, CommandContext& ctx);
void RegisterDataCommand(CLI::App& app, CommandContext& ctx);
void RegisterDataExportCommands(CLI::App& data, CommandContext& ctx);  // data export, data tokenizer export
void RegisterTrainCommand(CLI::App& app, CommandContext& ctx);
void RegisterOrchestratorCommands(CLI::App& app, CommandContext& ctx);  // sweep, daemon, status, cancel, logs
void RegisterReportCommand(CLI::App& app, CommandContext& ctx);
void RegisterRunsCommands(CLI::App& app, CommandContext& ctx);  // runs import, runs export
void RegisterBenchCommand(CLI::App& app, CommandContext& ctx);

}  // namespace isoflop::cli

#endif  // ISOFLOP_CLI_COMMANDS_H_
