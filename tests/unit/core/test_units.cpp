#include <catch2/catch.hpp>

#include "cgroupfs.h"
#include "units.h"

namespace test_units {

using namespace lineage;

TEST_CASE("sizes", "[units]") {
    CHECK(*parse_size("4096") == 4096);
    CHECK(*parse_size("64K") == 65536);
    CHECK(*parse_size("8M") == 8u << 20);
    CHECK(*parse_size("1G") == 1ull << 30);
    CHECK_FALSE(parse_size("").ok());
    CHECK_FALSE(parse_size("12Q").ok());
    CHECK_FALSE(parse_size("-1").ok());
    CHECK_FALSE(parse_size("99999999999999999999G").ok());
    CHECK_THAT(parse_size("x").error().message, Catch::Contains("invalid size 'x'"));
}

TEST_CASE("durations", "[units]") {
    CHECK(*parse_duration("30") == 30'000'000'000);
    CHECK(*parse_duration("30s") == 30'000'000'000);
    CHECK(*parse_duration("250ms") == 250'000'000);
    CHECK(*parse_duration("5m") == 300'000'000'000);
    CHECK(*parse_duration("2h") == 7'200'000'000'000);
    CHECK_FALSE(parse_duration("5 m").ok());
    CHECK_FALSE(parse_duration("m").ok());
    CHECK_FALSE(parse_duration("9999999999999999999d").ok());
}

TEST_CASE("the cgroup2 mount is found in mountinfo", "[cgroupfs]") {
    std::string hybrid =
        "30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
        "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev - cgroup2 cgroup2 rw\n"
        "32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
    CHECK(find_cgroup2_mount(hybrid) == "/sys/fs/cgroup/unified");
    std::string pure = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    CHECK(find_cgroup2_mount(pure) == "/sys/fs/cgroup");
    CHECK(find_cgroup2_mount("22 1 0:21 / /proc rw - proc proc rw\n").empty());
}

}  // namespace test_units
