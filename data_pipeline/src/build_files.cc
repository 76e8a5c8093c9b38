#include "build_files.h"

#include <fcntl.h>  // sync_file_range

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdlib>
#include <thread>
#include <fstream>
#include <sstream>

#include "isoflop/file_util.h"

namespace isoflop::data {

namespace fs = std::filesystem;

std::string TaskName(int task) {
  char name[16];
  std::snprintf(name, sizeof(name), "%05d", task);
  return name;
}

std::string BandName(int band) {
  char name[16];
  std::snprintf(name, sizeof(name), "%02d", band);
  return name;
}

std::string StageDir(const BuildPlan& plan, const std::string& stage) {
  return (fs::path(plan.work_dir) / stage).string();
}

std::string StageFile(const BuildPlan& plan, const std::string& stage, const std::string& name) {
  return (fs::path(plan.work_dir) / stage / name).string();
}

OutFile::~OutFile() {
  if (file_) {
    file_.reset();
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

Status OutFile::Open(const std::string& path) {
  path_ = path;
  temp_ = path + ".tmp." + std::to_string(::getpid());
  file_.reset(std::fopen(temp_.c_str(), "wb"));
  if (!file_) return Status::IOError("cannot create " + temp_ + ": " + std::strerror(errno));
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
  size_ = 0;
  failed_ = false;
  return Status::OK();
}

Status OutFile::StartWriteback() {
  if (failed_ || std::fflush(file_.get()) != 0) {
    failed_ = true;
    return Status::IOError("write to " + temp_ + " failed: " + std::strerror(errno) + " (disk full?)");
  }
#if defined(__linux__)
  ::sync_file_range(::fileno(file_.get()), 0, 0, SYNC_FILE_RANGE_WRITE);  // a hint: errors are the fsync's
#endif
  return Status::OK();
}

Status OutFile::Write(const void* data, size_t size) {
  if (size == 0) return Status::OK();
  if (failed_ || std::fwrite(data, 1, size, file_.get()) != size) {
    failed_ = true;
    return Status::IOError("write to " + temp_ + " failed: " + std::strerror(errno) + " (disk full?)");
  }
  size_ += size;
  return Status::OK();
}

Status OutFile::Commit() {
  if (failed_) return Status::IOError("write to " + temp_ + " failed");
  if (std::fflush(file_.get()) != 0 || std::fclose(file_.release()) != 0) {
    std::error_code ec;
    fs::remove(temp_, ec);
    return Status::IOError("cannot write " + temp_ + ": " + std::strerror(errno) + " (disk full?)");
  }
  std::error_code ec;
  fs::rename(temp_, path_, ec);
  if (ec) return Status::IOError("cannot rename " + temp_ + ": " + ec.message());
  return Status::OK();
}

StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status PRead(int fd, uint64_t offset, void* out, size_t size, const std::string& what) {
  char* p = static_cast<char*>(out);
  while (size > 0) {
    ssize_t got = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Status::Corruption(what + ": short read at offset " + std::to_string(offset));
    p += got;
    offset += static_cast<uint64_t>(got);
    size -= static_cast<size_t>(got);
  }
  return Status::OK();
}

namespace {
std::string DonePath(const BuildPlan& plan, const std::string& stage, int task) {
  return StageFile(plan, stage, TaskName(task) + ".done");
}
}  // namespace

bool TaskIsDone(const BuildPlan& plan, const std::string& stage, int task) {
  std::error_code ec;
  return fs::exists(DonePath(plan, stage, task), ec);
}

void HoldIfFaultInjected(const std::string& stage, int task) {
  const char* spec = std::getenv("ISOFLOP_FAULT_HOLD");
  if (spec == nullptr) return;
  const std::string text = spec;
  const std::string want = stage + ":" + std::to_string(task) + ":";
  if (!text.starts_with(want) || text.size() == want.size()) return;
  const std::string release = text.substr(want.size());
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::error_code ec;
  while (!fs::exists(release, ec) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status WriteTaskFile(const BuildPlan& plan, const std::string& path, std::string_view bytes) {
  AtomicWriteOptions options;
  options.sync = plan.sync_task_files;
  return WriteFileAtomically(path, bytes, options);
}

Status MarkTaskDone(const BuildPlan& plan, const std::string& stage, int task, const json& result) {
  return WriteTaskFile(plan, DonePath(plan, stage, task), result.dump(1) + "\n");
}

StatusOr<json> ReadTaskResult(const BuildPlan& plan, const std::string& stage, int task) {
  auto text = ReadText(DonePath(plan, stage, task));
  if (!text.ok()) {
    return Status::FailedPrecondition("stage " + stage + " task " + std::to_string(task) +
                                      " has not finished (" + DonePath(plan, stage, task) + ")");
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(DonePath(plan, stage, task) + ": not JSON");
  return j;
}

void RemoveTaskOutputs(const BuildPlan& plan, const std::string& stage, const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(StageDir(plan, stage), ec)) {
    const std::string name = entry.path().filename().string();
    // name.tmp.PID of another live process is its business; ours are gone with us.
    if (name.starts_with(prefix) && name.find(".tmp.") == std::string::npos) fs::remove(entry.path(), ec);
  }
}

int GroupIndex::GroupOf(uint64_t global) const {
  return static_cast<int>(std::upper_bound(base.begin(), base.end(), global) - base.begin()) - 1;
}

StatusOr<GroupIndex> GroupIndex::Load(const BuildPlan& plan) {
  GroupIndex index;
  index.base.push_back(0);
  for (int g = 0; g < plan.num_groups(); ++g) {
    auto result = ReadTaskResult(plan, "scan", g);
    if (!result.ok()) return result.status();
    index.base.push_back(index.base.back() + result->at("documents").get<uint64_t>());
  }
  return index;
}

DocStore::~DocStore() {
  for (auto& f : files_) {
    if (!f) continue;
    for (int fd : {f->meta, f->docs, f->sig}) {
      if (fd >= 0) ::close(fd);
    }
  }
}

StatusOr<DocStore::Files*> DocStore::Open(int group) {
  std::lock_guard<std::mutex> lock(mu_);
  if (files_.empty()) files_.resize(plan_.num_groups());
  if (!files_[group]) {
    auto files = std::make_unique<Files>();
    const std::string stem = StageFile(plan_, "scan", TaskName(group));
    files->meta = ::open((stem + ".meta").c_str(), O_RDONLY | O_CLOEXEC);
    files->docs = ::open((stem + ".docs").c_str(), O_RDONLY | O_CLOEXEC);
    files->sig = ::open((stem + ".sig").c_str(), O_RDONLY | O_CLOEXEC);  // absent with skip near
    if (files->meta < 0 || files->docs < 0) {
      return Status::IOError("cannot open " + stem + ".meta/.docs: " + std::strerror(errno));
    }
    files_[group] = std::move(files);
  }
  return files_[group].get();
}

Status DocStore::Meta(uint64_t global, DocMeta* meta) {
  const int g = groups_.GroupOf(global);
  auto files = Open(g);
  if (!files.ok()) return files.status();
  return PRead((*files)->meta, (global - groups_.base[g]) * sizeof(DocMeta), meta, sizeof(DocMeta),
               "scan " + TaskName(g) + ".meta");
}

Status DocStore::Read(uint64_t global, std::string* id, std::string* text) {
  DocMeta meta;
  ISOFLOP_RETURN_IF_ERROR(Meta(global, &meta));
  const int g = groups_.GroupOf(global);
  auto files = Open(g);
  if (!files.ok()) return files.status();
  const std::string what = "scan " + TaskName(g) + ".docs";
  uint32_t id_length = 0;
  ISOFLOP_RETURN_IF_ERROR(PRead((*files)->docs, meta.offset, &id_length, sizeof(id_length), what));
  id->resize(id_length);
  ISOFLOP_RETURN_IF_ERROR(PRead((*files)->docs, meta.offset + 4, id->data(), id_length, what));
  if (text != nullptr) {
    text->resize(meta.text_bytes);
    ISOFLOP_RETURN_IF_ERROR(
        PRead((*files)->docs, meta.offset + 4 + id_length + 8, text->data(), meta.text_bytes, what));
  }
  return Status::OK();
}

Status DocStore::Signature(uint64_t global, uint32_t* signature, int num_hashes) {
  const int g = groups_.GroupOf(global);
  auto files = Open(g);
  if (!files.ok()) return files.status();
  if ((*files)->sig < 0) return Status::Internal("no signatures were written (near dedup skipped)");
  const size_t bytes = sizeof(uint32_t) * static_cast<size_t>(num_hashes);
  return PRead((*files)->sig, (global - groups_.base[g]) * bytes, signature, bytes,
               "scan " + TaskName(g) + ".sig");
}

Status DocReader::Open(const std::string& path) {
  path_ = path;
  file_.reset(std::fopen(path.c_str(), "rb"));
  if (!file_) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
  return Status::OK();
}

StatusOr<bool> DocReader::Next(std::string* id, std::string* text, ContentHash* hash) {
  uint32_t id_length = 0;
  size_t got = std::fread(&id_length, 1, sizeof(id_length), file_.get());
  if (got == 0 && std::feof(file_.get())) return false;
  uint64_t text_length = 0;
  bool ok = got == sizeof(id_length);
  if (ok) {
    id->resize(id_length);
    ok = std::fread(id->data(), 1, id_length, file_.get()) == id_length &&
         std::fread(&text_length, 1, sizeof(text_length), file_.get()) == sizeof(text_length);
  }
  if (ok) {
    text->resize(text_length);
    ok = std::fread(text->data(), 1, text_length, file_.get()) == text_length &&
         std::fread(hash, 1, sizeof(*hash), file_.get()) == sizeof(*hash);
  }
  if (!ok) return Status::Corruption(path_ + ": truncated document record");
  return true;
}

Status WriteDocRecord(OutFile* out, std::string_view id, std::string_view text, const ContentHash& hash) {
  const uint32_t id_length = static_cast<uint32_t>(id.size());
  const uint64_t text_length = text.size();
  ISOFLOP_RETURN_IF_ERROR(out->Write(&id_length, sizeof(id_length)));
  ISOFLOP_RETURN_IF_ERROR(out->Write(id));
  ISOFLOP_RETURN_IF_ERROR(out->Write(&text_length, sizeof(text_length)));
  ISOFLOP_RETURN_IF_ERROR(out->Write(text));
  return out->Write(&hash, sizeof(hash));
}

}  // namespace isoflop::data
