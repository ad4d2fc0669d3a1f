#include "baseline/persist.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "baseline/document.h"
#include "common/status_macros.h"
#include "zlib.h"

namespace tw::baseline {

namespace {

// --- Little-endian and varint coding ----------------------------------------------------

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLE(absl::string_view s, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  }
  return v;
}
void PutVar(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

class Reader {
 public:
  Reader(absl::string_view data, absl::string_view name) : data_(data), name_(name) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  bool done() const { return pos_ == data_.size(); }
  size_t pos() const { return pos_; }

  uint64_t Var(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) {
        Fail(what, "ends in the middle of a number");
        return 0;
      }
      uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Fail(what, "number longer than 64 bits");
    return 0;
  }
  uint8_t U8(const char* what) {
    if (pos_ >= data_.size()) {
      Fail(what, "ends early");
      return 0;
    }
    return static_cast<uint8_t>(data_[pos_++]);
  }
  absl::string_view Bytes(uint64_t n, const char* what) {
    if (n > data_.size() - pos_) {
      Fail(what, absl::StrCat("says ", n, " bytes but only ", data_.size() - pos_, " remain"));
      return {};
    }
    absl::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void Fail(absl::string_view what, absl::string_view why) {
    if (error_.empty()) {
      error_ = absl::StrCat(name_, ": corrupt baseline snapshot: ", what, " at payload byte ", pos_,
                            ": ", why);
    }
  }

 private:
  absl::string_view data_;
  absl::string_view name_;
  size_t pos_ = 0;
  std::string error_;
};

// Strings are written once, referred to by index; index 0 is always "".
class StringTable {
 public:
  StringTable() { Id(""); }
  uint64_t Id(absl::string_view s) {
    auto [it, inserted] = ids_.emplace(s, strings_.size());
    if (inserted) strings_.push_back(s);
    return it->second;
  }
  // Id() keyed by the interned string's address: a pointer hash instead of a string hash
  // for the million symbols of a large baseline (equal strings of another table still
  // meet in Id()).
  uint64_t Id(flow::Symbol s) {
    const char* p = s.view().data();
    auto it = by_address_.find(p);
    if (it != by_address_.end()) return it->second;
    uint64_t id = Id(s.view());
    by_address_.emplace(p, id);
    return id;
  }
  void Write(std::string* out) const {
    PutVar(out, strings_.size());
    for (absl::string_view s : strings_) {
      PutVar(out, s.size());
      out->append(s.data(), s.size());
    }
  }

 private:
  absl::flat_hash_map<absl::string_view, uint64_t> ids_;
  absl::flat_hash_map<const char*, uint64_t> by_address_;
  std::vector<absl::string_view> strings_;
};

uint8_t PeerByte(const flow::Peer& p) {
  return static_cast<uint8_t>(static_cast<uint8_t>(p.kind) | (p.by_ip_only ? 0x04 : 0));
}

std::string Printable(absl::string_view head) {
  std::string out;
  for (char c : head.substr(0, 8)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, absl::StrFormat("\\x%02x", u));
    }
  }
  return out;
}

absl::Status ErrnoStatus(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", std::strerror(err)));
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return ErrnoStatus(err, absl::StrCat("cannot open ", path));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return std::move(buf).str();
}

}  // namespace

uint32_t Crc32(absl::string_view data, uint32_t crc) {
  // zlib's is table-sliced and fast even in debug builds; feed it in chunks that fit uInt.
  uLong c = crc;
  while (!data.empty()) {
    uInt n = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data.remove_prefix(n);
  }
  return static_cast<uint32_t>(c);
}

std::string EncodeSnapshot(const Baseline& baseline) {
  StringTable strings;
  std::string body;
  PutVar(&body, strings.Id(baseline.source()));
  size_t sets = baseline.node_set_count();
  PutVar(&body, sets);
  for (NodeSetId id = 0; id < sets; ++id) {
    absl::Span<const flow::Symbol> nodes = baseline.Nodes(id);
    PutVar(&body, nodes.size());
    for (flow::Symbol n : nodes) PutVar(&body, strings.Id(n.view()));
  }
  PutVar(&body, baseline.size());
  body.reserve(body.size() + baseline.size() * 32);  // ~27 bytes per connection
  baseline.ForEach([&](const ConnectionRecord& r) {
    const flow::ConnectionKey& k = r.key;
    body.push_back(static_cast<char>(PeerByte(k.source)));
    PutVar(&body, strings.Id(k.source.namespace_));
    PutVar(&body, strings.Id(k.source.name));
    body.push_back(static_cast<char>(PeerByte(k.destination)));
    PutVar(&body, strings.Id(k.destination.namespace_));
    PutVar(&body, strings.Id(k.destination.name));
    body.push_back(static_cast<char>(k.protocol));
    PutVar(&body, k.port);
    int64_t first = absl::ToUnixNanos(r.first_seen);
    PutVar(&body, ZigZag(first));
    // last >= first (the store keeps it so); the span may exceed int64 (first before 1970,
    // last after), so it is taken in unsigned arithmetic (found by fuzz_baseline_snapshot).
    PutVar(&body,
           static_cast<uint64_t>(absl::ToUnixNanos(r.last_seen)) - static_cast<uint64_t>(first));
    PutVar(&body, r.count);
    PutVar(&body, r.node_set);
    PutVar(&body, r.verdicts);
  });
  // Version 2: workload labels, sorted so that equal baselines encode to equal bytes.
  auto workloads = baseline.LabelledWorkloads();
  PutVar(&body, workloads.size());
  for (const auto& [peer, labels] : workloads) {
    PutVar(&body, strings.Id(peer.namespace_.view()));
    PutVar(&body, strings.Id(peer.name.view()));
    PutVar(&body, labels.size());
    for (flow::Symbol l : labels) PutVar(&body, strings.Id(l.view()));
  }

  std::string payload;
  strings.Write(&payload);
  payload += body;

  std::string out;
  out.reserve(kSnapshotHeaderSize + payload.size());
  out.append(kSnapshotMagic.data(), kSnapshotMagic.size());
  PutU16(&out, kSnapshotVersion);
  PutU64(&out, payload.size());
  PutU32(&out, Crc32(payload));
  PutU32(&out, Crc32(out));
  out += payload;
  return out;
}

namespace {

// The magic: a file that is not a snapshot at all is told apart from one cut short.
absl::Status CheckMagic(absl::string_view bytes, absl::string_view name) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": empty file, not a tierwatch baseline snapshot"));
  }
  if (bytes.size() < kSnapshotMagic.size() ||
      bytes.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    if (kSnapshotMagic.substr(0, bytes.size()) == bytes) {
      return absl::DataLossError(
          absl::StrCat(name, ": truncated baseline snapshot: only ", bytes.size(), " bytes"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a tierwatch baseline snapshot: it starts with \"",
                     Printable(bytes), "\", a snapshot starts with \"TWBASE\""));
  }
  return absl::OkStatus();
}

// The header after the magic: its version, then its checksum. Returns the version.
absl::StatusOr<uint16_t> ReadHeader(absl::string_view bytes, absl::string_view name) {
  if (bytes.size() < 8) {
    return absl::DataLossError(absl::StrCat(name, ": truncated baseline snapshot: ", bytes.size(),
                                            " bytes, the header alone is ", kSnapshotHeaderSize));
  }
  // The version comes before anything else: another version may lay out the rest
  // differently.
  uint16_t version = static_cast<uint16_t>(GetLE(bytes, 6, 2));
  if (version < kOldestSnapshotVersion || version > kSnapshotVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        name, ": baseline snapshot format version ", version, "; this tierwatch reads versions ",
        kOldestSnapshotVersion, " to ", kSnapshotVersion, " (",
        version > kSnapshotVersion ? "written by a newer" : "an older",
        " tierwatch): export it with the tierwatch that wrote it and load the document instead"));
  }
  if (bytes.size() < kSnapshotHeaderSize) {
    return absl::DataLossError(absl::StrCat(name, ": truncated baseline snapshot: ", bytes.size(),
                                            " bytes, the header alone is ", kSnapshotHeaderSize));
  }
  uint32_t header_crc = static_cast<uint32_t>(GetLE(bytes, 20, 4));
  if (Crc32(bytes.substr(0, 20)) != header_crc) {
    return absl::DataLossError(
        absl::StrCat(name, ": corrupt baseline snapshot: header checksum mismatch"));
  }
  return version;
}

// The payload the (checked) header describes: its length, then its checksum.
absl::StatusOr<absl::string_view> ReadPayload(absl::string_view bytes, absl::string_view name) {
  uint64_t length = GetLE(bytes, 8, 8);
  uint64_t have = bytes.size() - kSnapshotHeaderSize;
  if (have < length) {
    return absl::DataLossError(absl::StrCat(name, ": truncated baseline snapshot: the header says ",
                                            length, " payload bytes, the file has ", have));
  }
  if (have > length) {
    return absl::DataLossError(absl::StrCat(name, ": corrupt baseline snapshot: ", have - length,
                                            " unexpected bytes after the payload"));
  }
  absl::string_view payload = bytes.substr(kSnapshotHeaderSize);
  uint32_t stored = static_cast<uint32_t>(GetLE(bytes, 16, 4));
  uint32_t computed = Crc32(payload);
  if (stored != computed) {
    return absl::DataLossError(absl::StrFormat(
        "%s: corrupt baseline snapshot: payload checksum mismatch (stored %08x, computed %08x)",
        name, stored, computed));
  }
  return payload;
}

// Reads a checked payload into a baseline, section by section, in the order EncodeSnapshot
// writes them. The Reader keeps the first fault (what, where, why); reads after it are
// harmless, so a section goes on to its end and the caller checks once.
class PayloadDecoder {
 public:
  PayloadDecoder(absl::string_view payload, absl::string_view name, flow::SymbolTable& symbols,
                 Baseline& baseline)
      : payload_(payload), r_(payload, name), symbols_(symbols), baseline_(baseline) {}

  absl::Status Decode(uint16_t version) {
    if (!ReadStrings()) return Fault();
    baseline_.set_source(Str("source").str());
    ReadNodeSets();
    uint64_t nconn = r_.Var("connection count");
    if (!r_.ok()) return Fault();
    // A connection takes at least 12 payload bytes: a corrupt count cannot reserve much.
    baseline_.Reserve(static_cast<size_t>(std::min<uint64_t>(nconn, payload_.size() / 12)));
    for (uint64_t i = 0; i < nconn && r_.ok(); ++i) ReadConnection();
    if (!r_.ok()) return Fault();
    if (version >= 2) {
      ReadWorkloads();
      if (!r_.ok()) return Fault();
    }
    if (!r_.done()) {
      r_.Fail("end", "unexpected bytes after the last connection");
      return Fault();
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Fault() const { return absl::DataLossError(r_.error()); }

  // The string table, interned once: everything after refers to it by index.
  bool ReadStrings() {
    uint64_t nstrings = r_.Var("string count");
    if (!r_.ok()) return false;
    if (nstrings > payload_.size()) {
      r_.Fail("string count", absl::StrCat(nstrings, " strings cannot fit"));
      return false;
    }
    strings_.reserve(nstrings);
    for (uint64_t i = 0; i < nstrings && r_.ok(); ++i) {
      uint64_t len = r_.Var("string length");
      absl::string_view s = r_.Bytes(len, "string");
      strings_.push_back(symbols_.Intern(s));
    }
    return r_.ok();
  }

  flow::Symbol Str(const char* what) {
    uint64_t id = r_.Var(what);
    if (r_.ok() && id >= strings_.size()) {
      r_.Fail(what, absl::StrCat("string index ", id, " of ", strings_.size()));
    }
    return r_.ok() ? strings_[id] : flow::Symbol();
  }

  void ReadNodeSets() {
    uint64_t nsets = r_.Var("node set count");
    if (r_.ok() && nsets > payload_.size()) r_.Fail("node set count", "too large");
    for (uint64_t i = 0; i < nsets && r_.ok(); ++i) {
      uint64_t n = r_.Var("node set size");
      if (r_.ok() && n > strings_.size()) r_.Fail("node set size", "more nodes than strings");
      std::vector<flow::Symbol> nodes;
      for (uint64_t j = 0; j < n && r_.ok(); ++j) nodes.push_back(Str("node name"));
      set_ids_.push_back(baseline_.InternNodes(std::move(nodes)));
    }
  }

  void ReadPeer(flow::Peer* p) {
    uint8_t b = r_.U8("peer kind");
    if (r_.ok() && (b & ~0x07) != 0) r_.Fail("peer kind", absl::StrCat("unknown kind byte ", b));
    p->kind = static_cast<flow::PeerKind>(b & 0x03);
    p->by_ip_only = (b & 0x04) != 0;
    p->namespace_ = Str("peer namespace");
    p->name = Str("peer name");
  }

  // One connection, inserted only if all of it reads: the hot loop of a large load.
  void ReadConnection() {
    flow::ConnectionKey key;
    ReadPeer(&key.source);
    ReadPeer(&key.destination);
    uint8_t proto = r_.U8("protocol");
    if (r_.ok() && proto > static_cast<uint8_t>(flow::Protocol::kIGMP)) {
      r_.Fail("protocol", absl::StrCat("unknown protocol ", proto));
    }
    key.protocol = static_cast<flow::Protocol>(proto);
    uint64_t port = r_.Var("port");
    if (r_.ok() && port > 65535) r_.Fail("port", absl::StrCat(port, " is not a port"));
    key.port = static_cast<uint16_t>(port);
    int64_t first = UnZigZag(r_.Var("first seen"));
    uint64_t span = r_.Var("last seen");
    // last = first + span must be a time too (found by fuzz_baseline_snapshot: a corrupt
    // span overflowed int64). Unsigned arithmetic: the headroom fits in uint64 for any first,
    // and the sum below is then the true sum, in int64's range.
    const uint64_t headroom =
        static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(first);
    if (r_.ok() && span > headroom) r_.Fail("last seen", "out of range");
    uint64_t count = r_.Var("count");
    uint64_t set = r_.Var("node set");
    if (r_.ok() && set >= set_ids_.size()) r_.Fail("node set", "index out of range");
    uint64_t verdicts = r_.Var("verdicts");
    if (!r_.ok()) return;
    baseline_.InsertInterned(
        key, absl::FromUnixNanos(first),
        absl::FromUnixNanos(static_cast<int64_t>(static_cast<uint64_t>(first) + span)), count,
        set_ids_[set], static_cast<VerdictSet>(verdicts));
  }

  // Version 2: workload labels.
  void ReadWorkloads() {
    uint64_t nworkloads = r_.Var("workload count");
    if (r_.ok() && nworkloads > payload_.size()) r_.Fail("workload count", "too large");
    for (uint64_t i = 0; i < nworkloads && r_.ok(); ++i) {
      flow::Symbol ns = Str("workload namespace");
      flow::Symbol name = Str("workload name");
      uint64_t n = r_.Var("label count");
      if (r_.ok() && n > strings_.size()) r_.Fail("label count", "more labels than strings");
      std::vector<flow::Symbol> labels;
      for (uint64_t j = 0; j < n && r_.ok(); ++j) labels.push_back(Str("label"));
      if (r_.ok()) baseline_.SetLabels(flow::Peer::Workload(ns, name), std::move(labels));
    }
  }

  absl::string_view payload_;
  Reader r_;
  flow::SymbolTable& symbols_;
  Baseline& baseline_;
  std::vector<flow::Symbol> strings_;
  std::vector<NodeSetId> set_ids_;
};

}  // namespace

absl::StatusOr<Baseline> DecodeSnapshot(absl::string_view bytes, absl::string_view name,
                                        flow::SymbolTable& symbols) {
  TW_RETURN_IF_ERROR(CheckMagic(bytes, name));
  TW_ASSIGN_OR_RETURN(uint16_t version, ReadHeader(bytes, name));
  TW_ASSIGN_OR_RETURN(absl::string_view payload, ReadPayload(bytes, name));
  Baseline baseline(symbols);
  TW_RETURN_IF_ERROR(PayloadDecoder(payload, name, symbols, baseline).Decode(version));
  return baseline;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view data) {
  // Exports, suggest bundles, side files: no lock file beside each (they land in users'
  // trees); the snapshot (SaveSnapshot, Saver) is locked.
  AtomicWriteOptions o;
  o.lock = false;
  return tw::WriteFileAtomically(path, data, o);
}

absl::Status SaveSnapshot(const Baseline& baseline, const std::string& path) {
  return tw::WriteFileAtomically(path, EncodeSnapshot(baseline));
}

absl::StatusOr<std::string> MoveUnreadableAside(const std::string& path, absl::Time now) {
  const std::string stem = absl::StrCat(path, ".unreadable-", absl::ToUnixSeconds(now));
  // Never onto an existing file: a second reset in the same second keeps both.
  for (int n = 0; n < 1000; ++n) {
    std::string aside = n == 0 ? stem : absl::StrCat(stem, "-", n);
    if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) == 0) {
      return aside;
    }
    int err = errno;
    if (err == EEXIST) continue;
    if (err == EINVAL || err == ENOSYS) {  // a filesystem without RENAME_NOREPLACE
      struct stat st;
      if (::lstat(aside.c_str(), &st) == 0) continue;
      if (::rename(path.c_str(), aside.c_str()) == 0) return aside;
      err = errno;
    }
    return ErrnoStatus(err, absl::StrCat("cannot move unreadable baseline ", path, " to ", aside));
  }
  return absl::AlreadyExistsError(
      absl::StrCat("cannot move unreadable baseline ", path, " aside: ", stem, "-* all exist"));
}

absl::StatusOr<Baseline> LoadSnapshot(const std::string& path, flow::SymbolTable& symbols) {
  TW_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  return DecodeSnapshot(bytes, path, symbols);
}

BaselineFileKind DetectBaselineFile(absl::string_view head) {
  if (head.substr(0, kSnapshotMagic.size()) == kSnapshotMagic) return BaselineFileKind::kSnapshot;
  // Documents are text: YAML or JSON. Skip a UTF-8 byte order mark and whitespace.
  if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
  for (char c : head) {
    if (c == '\0') return BaselineFileKind::kUnknown;
  }
  size_t i = head.find_first_not_of(" \t\r\n");
  if (i == absl::string_view::npos) return BaselineFileKind::kUnknown;
  char c = head[i];
  if (c == '{' || c == '#' || c == '-' || absl::ascii_isalpha(static_cast<unsigned char>(c))) {
    return BaselineFileKind::kDocument;
  }
  return BaselineFileKind::kUnknown;
}

absl::StatusOr<Baseline> LoadBaselineAny(const std::string& path, flow::SymbolTable& symbols) {
  TW_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(path));
  switch (DetectBaselineFile(absl::string_view(bytes).substr(0, 4096))) {
    case BaselineFileKind::kSnapshot:
      return DecodeSnapshot(bytes, path, symbols);
    case BaselineFileKind::kDocument:
      return ParseBaselineDocument(bytes, path, symbols);
    case BaselineFileKind::kUnknown:
      break;
  }
  if (bytes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": empty file, not a tierwatch baseline (snapshot or document)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path,
                   ": not a tierwatch baseline: neither a snapshot (starts with \"TWBASE\") nor an "
                   "exported document (YAML or JSON, kind: TierwatchBaseline); it starts with \"",
                   Printable(bytes), "\""));
}

// --- Saver -------------------------------------------------------------------------------

Saver::Saver(SaverOptions options, const TimeSource& clock)
    : options_(std::move(options)), clock_(clock) {}

absl::StatusOr<Baseline> Saver::Start(flow::SymbolTable& symbols) {
  // Held for the saver's lifetime: a second daemon (or a CLI --out) on the same file is
  // refused instead of the two overwriting each other's saves.
  absl::StatusOr<FileLock> lock = FileLock::Acquire(options_.path, absl::ZeroDuration());
  if (lock.ok()) {
    lock_.emplace(*std::move(lock));
    RemoveStaleTempFiles(options_.path);
  } else if (absl::IsUnavailable(lock.status())) {
    return lock.status();  // another writer holds it
  }
  // Otherwise the lock file cannot be made (a read-only volume holding a baseline to watch
  // against): loading needs no lock; a save, should one come, takes it and fails clearly.
  struct stat st;
  if (::stat(options_.path.c_str(), &st) != 0) {
    int err = errno;
    if (err != ENOENT) {
      lock_.reset();
      return ErrnoStatus(err, absl::StrCat("cannot stat baseline ", options_.path));
    }
    started_ = true;
    last_save_ = clock_.Now();
    return Baseline(symbols);
  }
  absl::StatusOr<Baseline> loaded = LoadSnapshot(options_.path, symbols);
  if (loaded.ok()) {
    started_ = true;
    last_save_ = clock_.Now();
    return loaded;
  }
  if (!options_.move_aside_unreadable) {
    lock_.reset();
    return absl::Status(
        loaded.status().code(),
        absl::StrCat(loaded.status().message(),
                     "; tierwatch will not overwrite it: move the file away, or start with "
                     "`tierwatch run --reset-baseline` to keep it as ",
                     options_.path, ".unreadable-<unix seconds> and learn afresh"));
  }
  absl::StatusOr<std::string> aside = MoveUnreadableAside(options_.path, clock_.Now());
  if (!aside.ok()) {
    lock_.reset();
    return aside.status();
  }
  moved_aside_ = *aside;
  started_ = true;
  last_save_ = clock_.Now();
  return Baseline(symbols);
}

bool Saver::Due() const { return started_ && clock_.Now() - last_save_ >= options_.interval; }

absl::Status Saver::MaybeSave(const Baseline& baseline) {
  if (!Due()) return absl::OkStatus();
  return Save(baseline);
}

absl::Status Saver::Save(const Baseline& baseline) {
  if (!started_) {
    return absl::FailedPreconditionError(absl::StrCat("not saving the baseline to ", options_.path,
                                                      ": the saver has not loaded that file"));
  }
  // Only ever replace a snapshot this version reads (or nothing).
  std::ifstream in(options_.path, std::ios::binary);
  if (in) {
    char head[8] = {};
    in.read(head, sizeof(head));
    absl::string_view h(head, static_cast<size_t>(in.gcount()));
    // Start() loaded it, so an older version this build reads is replaced by the current
    // one (an upgrade); anything else is not ours to replace.
    uint64_t v = h.size() >= 8 ? GetLE(h, 6, 2) : 0;
    if (h.size() < 8 || h.substr(0, 6) != kSnapshotMagic || v < kOldestSnapshotVersion ||
        v > kSnapshotVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to replace ", options_.path,
          ": it is no longer a baseline snapshot this tierwatch wrote (it starts with \"",
          Printable(h), "\")"));
    }
  }
  AtomicWriteOptions write;
  write.held_lock = lock_ ? &*lock_ : nullptr;
  TW_RETURN_IF_ERROR(tw::WriteFileAtomically(options_.path, EncodeSnapshot(baseline), write));
  last_save_ = clock_.Now();
  ++saves_;
  return absl::OkStatus();
}

}  // namespace tw::baseline
