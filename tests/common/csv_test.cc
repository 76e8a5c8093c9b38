// The project's one CSV reader (common/include/isoflop/csv.h): RFC 4180 quotes, CRLF, a UTF-8 BOM,
// blank lines, duplicate columns refused, errors naming source:line.
#include "isoflop/csv.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace isoflop {
namespace {

TEST(CsvTest, QuotedCommasDoubledQuotesAndLineBreaks) {
  auto t = ParseCsv("name,loss,note\n\"a, b\",2.5,\"say \"\"hi\"\"\"\n\"multi\nline\",3,x\n", "runs.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->header, (std::vector<std::string>{"name", "loss", "note"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0].fields, (std::vector<std::string>{"a, b", "2.5", "say \"hi\""}));
  EXPECT_EQ(t->rows[0].line, 2);
  EXPECT_EQ(t->rows[1].fields[0], "multi\nline");
  EXPECT_EQ(t->rows[1].line, 3);  // the line where the record starts
}

TEST(CsvTest, CrlfBomBlankLinesAndWhitespace) {
  auto t = ParseCsv("\xEF\xBB\xBFparams , Tokens,loss\r\n\r\n  1e6 ,2e7, 3.1 \r\n \r\n4,5,6", "x.csv");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->header, (std::vector<std::string>{"params", "Tokens", "loss"}));
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->rows[0].fields, (std::vector<std::string>{"1e6", "2e7", "3.1"}));
  EXPECT_EQ(t->rows[0].line, 3);
  EXPECT_EQ(t->rows[1].fields, (std::vector<std::string>{"4", "5", "6"}));
  EXPECT_EQ(t->rows[1].line, 5);
  EXPECT_EQ(t->ColumnIndex("TOKENS"), 1);
  EXPECT_EQ(t->ColumnIndex(" loss "), 2);
  EXPECT_EQ(t->ColumnIndex("flops"), -1);
  EXPECT_EQ(t->Where(3, 2), "x.csv:3:3 (column 'loss')");
}

TEST(CsvTest, QuotedSpacesKeptEmptyFieldsKept) {
  auto t = ParseCsv("a,b,c\n\" x \",,\n", "x.csv");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->rows[0].fields, (std::vector<std::string>{" x ", "", ""}));
}

TEST(CsvTest, DuplicateColumnIsRefusedNamingBoth) {
  auto t = ParseCsv("params,tokens,loss,Loss\n1,2,3,4\n", "runs.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(t.status().message(),
            "runs.csv:1: column 'Loss' appears twice (columns 3 and 4); rename or remove one");
}

TEST(CsvTest, UnterminatedQuoteNamesItsLine) {
  auto t = ParseCsv("a,b\n1,2\n3,\"open\n4,5\n", "bad.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("bad.csv:3:2: unterminated quoted field"), std::string::npos)
      << t.status().message();
}

TEST(CsvTest, TextAfterClosingQuoteIsAnError) {
  auto t = ParseCsv("a,b\n\"x\"y,2\n", "bad.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("bad.csv:2:1: text after a closing quote"), std::string::npos);
}

TEST(CsvTest, EmptyInputHasNoHeader) {
  auto t = ParseCsv("\n  \n", "empty.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "empty.csv: empty file (a header row is required)");
}

TEST(CsvTest, ReadCsvFileMissingIsNotFoundDirectoryIsBadInput) {
  auto missing = ReadCsvFile("/nonexistent/runs.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
  const std::string dir = ::testing::TempDir();
  auto directory = ReadCsvFile(dir);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(directory.status().message().find("is a directory"), std::string::npos);
}

}  // namespace
}  // namespace isoflop
