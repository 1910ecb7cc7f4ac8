/* deep_chain: the attack of issue 25 as a real process tree, for
 * tests/e2e/test_deep_e2e.cpp.
 *
 *   deep_chain DEPTH HOST PORT
 *
 * Prints "root=PID", then forks a chain: each process forks one child and
 * waits for it, DEPTH generations below the root. The last one execs this
 * same binary as `deep_chain --connect HOST PORT` (the payload), which
 * prints "payload=PID", connects to HOST:PORT over TCP and exits 0. Each
 * process exits with its child's status, so the root's tells whether the
 * whole chain worked. A small C program rather than a shell script: a
 * thousand shells take far longer to fork than a thousand copies of this.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int payload(const char* host, const char* port) {
    printf("payload=%d\n", (int)getpid());
    fflush(stdout);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) return 2;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 3;
    if (connect(fd, (struct sockaddr*)&sa, sizeof(sa)) != 0) return 4;
    close(fd);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 4 && strcmp(argv[1], "--connect") == 0) return payload(argv[2], argv[3]);
    if (argc != 4) {
        fprintf(stderr, "usage: deep_chain DEPTH HOST PORT\n");
        return 2;
    }
    long depth = atol(argv[1]);
    if (depth < 1) return 2;
    printf("root=%d\n", (int)getpid());
    fflush(stdout);
    for (long level = 1; level <= depth; ++level) {
        pid_t child = fork();
        if (child < 0) {
            perror("deep_chain: fork");
            return 5;
        }
        if (child > 0) {
            int status = 0;
            if (waitpid(child, &status, 0) != child) return 6;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 7;
        }
        if (level == depth) {
            /* argv[0] is the absolute path the test ran. */
            execl(argv[0], argv[0], "--connect", argv[2], argv[3], (char*)NULL);
            perror("deep_chain: exec");
            return 8;
        }
    }
    return 0;
}
