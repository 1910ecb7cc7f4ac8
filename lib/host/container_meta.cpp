#include "container_meta.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "escape.h"
#include "fd.h"
#include "pod.h"

namespace lineage {

namespace {

using json = nlohmann::json;

std::string cut(std::string_view s) {
    return std::string(s.substr(0, kMaxMetaField));
}

bool is_lower_hex_id(std::string_view id) {
    return id.size() >= 12 && id.size() <= 64 &&
           std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// ---------------------------------------------------------------- config.json

// The fields of ContainerMeta, in the order of the annotation tables below.
enum Field { kPodUid, kPodName, kPodNamespace, kContainerName, kImage, kType, kFieldCount };

// One table per flavour, indexed by Field.
constexpr std::string_view kContainerdKeys[kFieldCount] = {
    "io.kubernetes.cri.sandbox-uid",    "io.kubernetes.cri.sandbox-name", "io.kubernetes.cri.sandbox-namespace",
    "io.kubernetes.cri.container-name", "io.kubernetes.cri.image-name",   "io.kubernetes.cri.container-type",
};
constexpr std::string_view kCrioKeys[kFieldCount] = {
    "io.kubernetes.pod.uid",        "io.kubernetes.pod.name",        "io.kubernetes.pod.namespace",
    "io.kubernetes.container.name", "io.kubernetes.cri-o.ImageName", "io.kubernetes.cri-o.ContainerType",
};

int field_of(const std::string_view (&table)[kFieldCount], std::string_view key) {
    for (int f = 0; f < kFieldCount; ++f) {
        if (table[f] == key) return f;
    }
    return -1;
}

// Whether a string annotation says which CRI wrote the config: the keys
// above, and the rest of each runtime's own namespace (containerd's
// sandbox-id, CRI-O's io.kubernetes.cri-o.*).
bool is_containerd_key(std::string_view key) {
    return key.starts_with("io.kubernetes.cri.");
}
bool is_crio_key(std::string_view key) {
    return key.starts_with("io.kubernetes.cri-o.") || field_of(kCrioKeys, key) >= 0;
}

// A SAX handler rather than a DOM: only the root's "annotations" and
// "linux" objects are looked at, and only their string members are kept,
// so memory stays bounded by the fields we keep whatever else an attacker
// puts in the file (nesting, seccomp rules, a million keys). nlohmann's
// SAX parser is iterative, so no depth of nesting recurses, and its errors
// come to parse_error() below, never as exceptions.
class ConfigSax {
public:
    bool null() { return scalar(nullptr); }
    bool boolean(bool) { return scalar(nullptr); }
    bool number_integer(json::number_integer_t) { return scalar(nullptr); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(nullptr); }
    bool number_float(json::number_float_t, const json::string_t&) { return scalar(nullptr); }
    bool string(json::string_t& s) { return scalar(&s); }
    bool binary(json::binary_t&) { return scalar(nullptr); }

    bool start_object(std::size_t) {
        if (depth_ == 0) root_is_object_ = true;
        // A root key's value that is an object opens its section.
        if (depth_ == 1 && root_is_object_) section_ = pending_section_;
        ++depth_;
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) {
        ++depth_;
        return true;
    }
    bool end_array() { return close(); }

    bool key(json::string_t& k) {
        if (depth_ == 1) {
            pending_section_ = k == "annotations" ? Section::annotations
                               : k == "linux"     ? Section::linux
                                                  : Section::none;
        } else if (depth_ == 2) {
            inner_key_.assign(k, 0, std::min<std::size_t>(k.size(), kMaxKey));
        }
        return true;
    }

    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
        error_position_ = position;
        // The library's message quotes the bytes it choked on after "; last
        // read", which may be a megabyte of attacker's text: only the kind of
        // error, from the library's own words before it, is kept.
        std::string_view what = ex.what();
        what = what.substr(0, what.find("; last read"));
        if (what.find("UTF-8") != std::string_view::npos) {
            error_kind_ = "invalid UTF-8 in a string";
        } else if (what.find("control character") != std::string_view::npos) {
            error_kind_ = "a raw control character in a string";
        } else {
            error_kind_ = "syntax error";
        }
        return false;
    }

    bool root_is_object() const { return root_is_object_; }
    std::size_t error_position() const { return error_position_; }
    const std::string& error_kind() const { return error_kind_; }

    // The annotations of each flavour, by Field, and linux.cgroupsPath.
    std::optional<std::string> containerd[kFieldCount];
    std::optional<std::string> crio[kFieldCount];
    bool containerd_seen = false;
    bool crio_seen = false;
    std::optional<std::string> cgroups_path;

private:
    enum class Section { none, annotations, linux };
    // Longer than any key we look for; a longer key is none of them.
    static constexpr std::size_t kMaxKey = 64;

    bool scalar(const std::string* s) {
        if (depth_ != 2 || s == nullptr) return true;
        if (section_ == Section::annotations) {
            if (is_containerd_key(inner_key_)) containerd_seen = true;
            if (is_crio_key(inner_key_)) crio_seen = true;
            if (int f = field_of(kContainerdKeys, inner_key_); f >= 0) containerd[f] = cut(*s);
            if (int f = field_of(kCrioKeys, inner_key_); f >= 0) crio[f] = cut(*s);
        } else if (section_ == Section::linux && inner_key_ == "cgroupsPath") {
            cgroups_path = cut(*s);
        }
        return true;
    }

    bool close() {
        --depth_;
        if (depth_ <= 1) section_ = Section::none;
        return true;
    }

    std::size_t depth_ = 0;
    bool root_is_object_ = false;
    Section pending_section_ = Section::none;
    Section section_ = Section::none;
    std::string inner_key_;
    std::size_t error_position_ = 0;
    std::string error_kind_;
};

bool only_whitespace(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// ---------------------------------------------------------------- runtime argv

std::string_view base_name(std::string_view path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_oci_runtime(std::string_view name) {
    return name == "runc" || name == "crun" || name == "runsc";
}

// "-x", "--x", "-x=v" and "--x=v": the runtimes parse flags the way Go's
// flag package (runc, runsc) or getopt (crun) does, and both accept one
// dash or two for long names as far as we need.
struct Option {
    std::string_view name;
    std::optional<std::string_view> value;
};

std::optional<Option> as_option(std::string_view arg) {
    if (arg.size() < 2 || arg[0] != '-') return std::nullopt;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (arg.empty()) return std::nullopt;
    std::size_t eq = arg.find('=');
    if (eq == std::string_view::npos) return Option{arg, std::nullopt};
    return Option{arg.substr(0, eq), arg.substr(eq + 1)};
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// Global options that take a value: runc's (runc --help), crun's
// --cgroup-manager and --log-level, and runsc's that containerd's shim
// passes. An unknown one is taken for a flag: its value then looks like the
// subcommand, which is not create or run, and the exec is not taken for a
// container's creation (a miss, never a wrong bundle).
bool global_takes_value(std::string_view name) {
    return is_one_of(name, {"root", "log", "log-format", "criu", "rootless", "cgroup-manager", "log-level", "debug-log",
                            "panic-log", "platform", "network"});
}

// The options of create and run that take a value (runc create --help,
// runc run --help; crun's --config/-f; runsc's --user-log).
bool subcommand_takes_value(std::string_view name) {
    return is_one_of(name, {"console-socket", "pid-file", "preserve-fds", "config", "f", "user-log"});
}

// ---------------------------------------------------------------- files under a root

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

// glibc 2.36 has no openat2() wrapper. Retries the EAGAIN the kernel gives
// RESOLVE_IN_ROOT when a rename races the lookup. -1 and errno on failure.
UniqueFd openat2_fd(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve) {
    open_how how{};
    how.flags = flags;
    how.resolve = resolve;
    for (int attempt = 0; attempt < 8; ++attempt) {
        long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno != EAGAIN && errno != EINTR) break;
    }
    return UniqueFd();
}

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

// `under` (absolute or not, as a path inside root) shown as a path on the
// node: root joined with it, one slash between.
std::string joined(const std::string& root, std::string_view under) {
    std::string out = root;
    while (!under.empty() && under.front() == '/') under.remove_prefix(1);
    if (out.empty() || out.back() != '/') out += '/';
    out += under;
    return out;
}

std::string size_limit_text(size_t bytes) {
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
    if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
    return fmt::format("{} bytes", bytes);
}

std::string errno_text(int err) {
    switch (err) {
        case EXDEV:
            return "a symlink that leaves the bundle (refused)";
        case ELOOP:
            return "a symlink loop or a /proc magic link (refused)";
        case ENOSYS:
            return "openat2 is not available (Linux 5.6 or later, and not filtered by seccomp)";
        default:
            return std::strerror(err);
    }
}

// What reading one config.json found; `missing` when the bundle directory
// or the file is not there (find_runtime_config then looks elsewhere).
struct ConfigRead {
    Result<ContainerMeta> meta;
    bool missing = false;
};

// Reads <root>/<under>/config.json: `under` resolved inside root, then
// config.json beneath it. `shown` names the file in errors (unescaped).
ConfigRead read_config_under(const std::string& root, const std::string& under, const std::string& shown,
                             size_t max_bytes) {
    std::string file = escape_for_terminal(shown);
    auto fail = [&](std::string what, bool missing = false) {
        return ConfigRead{Error{fmt::format("{}: {}", file, what)}, missing};
    };
    if (under.find('\0') != std::string::npos) return fail("the path holds a NUL byte");

    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd)
        return fail(fmt::format("cannot open the root {}: {}", escape_for_terminal(root), std::strerror(errno)));

    // "" is the root itself; openat2 wants "." for that.
    UniqueFd bundle_fd =
        openat2_fd(root_fd.get(), under.empty() ? "." : under, O_PATH | O_DIRECTORY | O_CLOEXEC, kInRoot);
    if (!bundle_fd) {
        int err = errno;
        return fail(fmt::format("cannot open the bundle directory: {}", errno_text(err)),
                    err == ENOENT || err == ENOTDIR);
    }

    // O_NONBLOCK: a FIFO opens at once (and is refused below) instead of
    // waiting for a writer; O_NOCTTY: a terminal never becomes ours.
    UniqueFd fd = openat2_fd(bundle_fd.get(), "config.json", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, kBeneath);
    if (!fd) {
        int err = errno;
        return fail(errno_text(err), err == ENOENT);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return fail("not a regular file");

    std::string too_large = fmt::format("larger than {}", size_limit_text(max_bytes));
    if (static_cast<uint64_t>(st.st_size) > max_bytes) return fail(too_large);
    // Up to one byte more than allowed, which tells a file that grew since fstat.
    std::string text;
    text.reserve(static_cast<size_t>(st.st_size) + 1);
    char buf[16384];
    while (text.size() <= max_bytes) {
        size_t room = max_bytes - text.size();
        ssize_t n = ::read(fd.get(), buf, room < sizeof buf ? room + 1 : sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(std::strerror(errno));
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    if (text.size() > max_bytes) return fail(too_large);

    Result<ContainerMeta> meta = parse_oci_config(text);
    if (!meta) return fail(meta.error().message);
    return ConfigRead{std::move(meta)};
}

// The names in a directory under root (resolved inside it), "." and ".."
// left out; empty when it cannot be read.
std::vector<std::string> names_in(const std::string& root, const std::string& under) {
    std::vector<std::string> names;
    UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) return names;
    UniqueFd fd = openat2_fd(root_fd.get(), under, O_RDONLY | O_DIRECTORY | O_CLOEXEC, kInRoot);
    if (!fd) return names;
    UniqueDir dir(::fdopendir(fd.get()));
    if (!dir) return names;
    fd.release();  // the DIR owns it now
    while (dirent* entry = ::readdir(dir.get())) {
        std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
    }
    return names;
}

// "<pod>_<namespace>_<container>-<64 hex>.log"
struct LogEntry {
    ContainerLogName names;
    std::string id;
};

std::optional<LogEntry> parse_log_name(std::string_view name) {
    if (!name.ends_with(".log")) return std::nullopt;
    name.remove_suffix(4);
    std::size_t dash = name.rfind('-');
    if (dash == std::string_view::npos) return std::nullopt;
    std::string_view id = name.substr(dash + 1);
    if (id.size() != 64 || !is_lower_hex_id(id)) return std::nullopt;
    std::string_view rest = name.substr(0, dash);
    std::size_t first = rest.find('_');
    if (first == std::string_view::npos) return std::nullopt;
    std::size_t second = rest.find('_', first + 1);
    if (second == std::string_view::npos || rest.find('_', second + 1) != std::string_view::npos) return std::nullopt;
    std::string_view pod = rest.substr(0, first);
    std::string_view ns = rest.substr(first + 1, second - first - 1);
    std::string_view container = rest.substr(second + 1);
    if (pod.empty() || ns.empty() || container.empty()) return std::nullopt;
    return LogEntry{ContainerLogName{cut(pod), cut(ns), cut(container)}, std::string(id)};
}

}  // namespace

Result<ContainerMeta> parse_oci_config(std::string_view text) {
    if (only_whitespace(text)) return Error{"empty: no JSON object"};
    ConfigSax sax;
    bool ok = json::sax_parse(text.begin(), text.end(), &sax, nlohmann::json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/false);
    if (!ok) {
        // The lexer counts the end of the input as one more character read.
        if (sax.error_position() > text.size()) {
            return Error{fmt::format("cut short: the JSON ends after {} bytes, inside a value", text.size())};
        }
        return Error{fmt::format("not JSON: {} at byte {}", sax.error_kind(), sax.error_position())};
    }
    if (!sax.root_is_object()) return Error{"not a JSON object"};

    ContainerMeta meta;
    // containerd's annotations win when both are present: one runtime wrote
    // this file, and a pod's own annotations may imitate the other's keys.
    const std::optional<std::string>* fields = nullptr;
    if (sax.containerd_seen) {
        meta.flavour = "containerd";
        fields = sax.containerd;
    } else if (sax.crio_seen) {
        meta.flavour = "crio";
        fields = sax.crio;
    }
    if (fields) {
        if (fields[kPodUid]) meta.pod_uid = canonical_pod_uid(*fields[kPodUid]).value_or("");
        meta.pod_name = fields[kPodName].value_or("");
        meta.pod_namespace = fields[kPodNamespace].value_or("");
        meta.container_name = fields[kContainerName].value_or("");
        meta.image = fields[kImage].value_or("");
        meta.type = fields[kType].value_or("");
    }
    if (sax.cgroups_path) {
        meta.cgroups_path = *sax.cgroups_path;
        CgroupsPathIds ids = ids_from_cgroups_path(meta.cgroups_path);
        meta.container_id = std::move(ids.container_id);
        if (meta.pod_uid.empty()) meta.pod_uid = std::move(ids.pod_uid);
    }
    return meta;
}

CgroupsPathIds ids_from_cgroups_path(std::string_view path) {
    CgroupsPathIds out;
    if (path.empty() || path.size() > kMaxMetaField) return out;
    // runc's systemd driver takes "slice:prefix:name" (runc --help), the
    // slice a unit name, never a path; the name is the container's ID.
    if (path.find('/') == std::string_view::npos && std::count(path.begin(), path.end(), ':') == 2) {
        std::size_t first = path.find(':');
        std::size_t second = path.find(':', first + 1);
        if (auto kube = parse_kube_cgroup(path.substr(0, first))) out.pod_uid = kube->pod_uid;
        out.container_id = canonical_container_id(path.substr(second + 1)).value_or("");
        return out;
    }
    if (auto kube = parse_kube_cgroup(path)) {
        out.pod_uid = kube->pod_uid;
        out.container_id = kube->container_id;
    }
    return out;
}

std::optional<RuntimeInvocation> parse_runtime_invocation(std::string_view binary_path,
                                                          const std::vector<std::string>& argv) {
    bool runtime = is_oci_runtime(base_name(binary_path)) || (!argv.empty() && is_oci_runtime(base_name(argv[0])));
    if (!runtime || argv.empty()) return std::nullopt;

    // Global options, up to the subcommand.
    std::size_t i = 1;
    for (; i < argv.size(); ++i) {
        std::optional<Option> opt = as_option(argv[i]);
        if (!opt) break;
        if (!opt->value && global_takes_value(opt->name)) ++i;  // skip its value
    }
    if (i >= argv.size() || (argv[i] != "create" && argv[i] != "run")) return std::nullopt;

    RuntimeInvocation out;
    std::optional<std::string_view> last_positional;
    bool options_done = false;
    for (++i; i < argv.size(); ++i) {
        std::string_view arg = argv[i];
        std::optional<Option> opt = options_done ? std::nullopt : as_option(arg);
        if (!options_done && arg == "--") {
            options_done = true;
            continue;
        }
        if (!opt) {
            last_positional = arg;
            continue;
        }
        bool bundle = opt->name == "bundle" || opt->name == "b";
        if (!bundle && !subcommand_takes_value(opt->name)) continue;  // a flag
        std::string_view value;
        if (opt->value) {
            value = *opt->value;
        } else if (i + 1 < argv.size()) {
            value = argv[++i];
        } else {
            return std::nullopt;  // the option's value is missing: not an exec that ran
        }
        if (bundle) out.bundle = std::string(value);
    }
    if (!last_positional || last_positional->empty()) return std::nullopt;
    out.id = std::string(*last_positional);
    return out;
}

Result<ContainerMeta> read_bundle_config(const std::string& root, const std::string& bundle, const std::string& cwd,
                                         size_t max_bytes) {
    std::string under = bundle;
    if (bundle.empty() || bundle.front() != '/') {
        if (cwd.empty()) {
            return Error{fmt::format("bundle {}: a relative path and no working directory to take it from",
                                     escape_for_terminal(bundle))};
        }
        under = bundle.empty() ? cwd : cwd + "/" + bundle;
    }
    return read_config_under(root, under, joined(root, under + "/config.json"), max_bytes).meta;
}

std::optional<RuntimeConfig> find_runtime_config(const std::string& root, std::string_view container_id) {
    if (!is_lower_hex_id(container_id)) return std::nullopt;
    const std::string id(container_id);

    // containerd keeps one task directory per namespace (k8s.io for the CRI,
    // moby for docker, default for ctr); the ID is unique across them.
    const std::string tasks = "/run/containerd/io.containerd.runtime.v2.task";
    std::vector<std::string> namespaces = names_in(root, tasks);
    std::sort(namespaces.begin(), namespaces.end());
    for (const std::string& ns : namespaces) {
        std::string under = fmt::format("{}/{}/{}", tasks, ns, id);
        std::string path = joined(root, under + "/config.json");
        ConfigRead read = read_config_under(root, under, path, kMaxConfigBytes);
        if (read.missing) continue;
        return RuntimeConfig{"containerd-task", std::move(path), std::move(read.meta)};
    }

    std::string under = "/run/containers/storage/overlay-containers/" + id + "/userdata";
    std::string path = joined(root, under + "/config.json");
    ConfigRead read = read_config_under(root, under, path, kMaxConfigBytes);
    if (read.missing) return std::nullopt;
    return RuntimeConfig{"crio-state", std::move(path), std::move(read.meta)};
}

std::optional<ContainerLogName> find_container_log(const std::string& root, std::string_view container_id) {
    if (!is_lower_hex_id(container_id)) return std::nullopt;
    std::optional<LogEntry> found;
    for (const std::string& name : names_in(root, "/var/log/containers")) {
        std::optional<LogEntry> entry = parse_log_name(name);
        if (!entry || !entry->id.starts_with(container_id)) continue;
        // The kubelet makes one name per container: two matches (a short ID
        // two containers share, or a name someone added) name neither.
        if (found) return std::nullopt;
        found = std::move(entry);
    }
    if (!found) return std::nullopt;
    return std::move(found->names);
}

}  // namespace lineage
