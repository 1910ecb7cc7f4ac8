// lineage_test_measure OUT COMMAND [ARGS...]: runs COMMAND (a path), waits
// for it, writes its peak resident set size in KiB to OUT and exits with
// its status (128 + signal when killed).
//
// Why a program of its own: a test process spawns with vfork semantics
// (posix_spawn), and the kernel records the peak of the address space an
// exec leaves, which for a vforked child is the test process's own. Forked
// from this small process, COMMAND's peak is its own.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: lineage_test_measure OUT COMMAND [ARGS...]\n");
        return 125;
    }
    const pid_t pid = fork();
    if (pid < 0) return 125;
    if (pid == 0) {
        execv(argv[2], argv + 2);
        _exit(127);
    }
    int status = 0;
    struct rusage usage {};
    while (wait4(pid, &status, 0, &usage) < 0) {
        if (errno != EINTR) return 125;
    }
    if (FILE* out = std::fopen(argv[1], "w")) {
        std::fprintf(out, "%ld\n", usage.ru_maxrss);
        std::fclose(out);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
