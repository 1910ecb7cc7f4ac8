#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "boxed.h"
#include "symbol.h"

namespace test_symbol {

using namespace lineage;

TEST_CASE("a symbol is one copy of its text, compared as the text", "[symbol]") {
    const std::string a1 = "30556d06-ea78-455b-a7a6-ac4098d4efa9";
    const std::string a2 = std::string("30556d06-ea78-455b-a7a6-") + "ac4098d4efa9";  // another buffer
    const Symbol s1(a1), s2(a2), other("0e4c2f7a-0000-4000-8000-000000000000");
    CHECK(s1 == s2);
    CHECK(&s1.str() == &s2.str());  // interned: the same storage
    CHECK(s1 != other);
    CHECK(s1 == a1);
    CHECK(s1 == std::string_view(a2));
    CHECK(s1 == "30556d06-ea78-455b-a7a6-ac4098d4efa9");
    CHECK(s1.hash() == std::hash<std::string_view>()(a1));
    CHECK(fmt::format("[{}]", s1) == "[" + a1 + "]");

    // The default is the empty text, the same one as Symbol("").
    const Symbol none;
    CHECK(none.empty());
    CHECK(none == Symbol(""));
    CHECK(none == std::string());
    CHECK(none.size() == 0);
}

TEST_CASE("symbols order by their text, not by when they were made", "[symbol]") {
    // Made in reverse order: an order by address or by interning would
    // put them backwards.
    std::vector<Symbol> made;
    for (const char* t : {"zeta-boot", "mid-boot", "alpha-boot", "alpha-boot2"}) made.emplace_back(t);
    std::sort(made.begin(), made.end());
    std::vector<std::string> texts;
    for (Symbol s : made) texts.push_back(s.str());
    CHECK(texts == std::vector<std::string>{"alpha-boot", "alpha-boot2", "mid-boot", "zeta-boot"});
    CHECK((Symbol("a") <=> Symbol("b")) == std::strong_ordering::less);
    CHECK((Symbol("b") <=> std::string("a")) == std::strong_ordering::greater);
    CHECK((Symbol("same") <=> Symbol("same")) == std::strong_ordering::equal);
}

TEST_CASE("symbols made on several threads at once are the same symbols", "[symbol]") {
    constexpr int kThreads = 4, kTexts = 500;
    std::vector<std::vector<Symbol>> made(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&made, t] {
            for (int i = 0; i < kTexts; ++i) made[t].emplace_back(fmt::format("thread-test-{}", (i * 7 + t) % kTexts));
        });
    }
    for (auto& th : threads) th.join();
    std::set<const std::string*> storage;
    for (const auto& list : made)
        for (Symbol s : list) storage.insert(&s.str());
    CHECK(storage.size() == static_cast<size_t>(kTexts));
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kTexts; ++i) {
            const std::string text = fmt::format("thread-test-{}", (i * 7 + t) % kTexts);
            if (made[t][i] != Symbol(text) || made[t][i].str() != text) FAIL("thread " << t << ", symbol " << i);
        }
    }
}

TEST_CASE("a boxed value is an optional on the heap, copied deep", "[boxed]") {
    Boxed<std::string> none;
    CHECK_FALSE(none);
    CHECK_FALSE(none.has_value());
    CHECK_THROWS_AS(none.value(), std::bad_optional_access);

    Boxed<std::string> a = std::string("first");
    REQUIRE(a.has_value());
    CHECK(*a == "first");
    Boxed<std::string> b = a;  // a copy, not a second owner
    *b = "second";
    CHECK(*a == "first");
    CHECK(*b == "second");
    CHECK(a->size() == 5);

    a = std::nullopt;
    CHECK_FALSE(a);
    a.emplace(3, 'x');
    CHECK(*a == "xxx");
    Boxed<std::string> moved = std::move(a);
    CHECK(*moved == "xxx");
    std::optional<std::string> opt = "from optional";
    Boxed<std::string> from_opt = opt;
    CHECK(from_opt.value() == "from optional");
    Boxed<std::string> from_empty = std::optional<std::string>();
    CHECK_FALSE(from_empty);
    b.reset();
    CHECK_FALSE(b);
}

}  // namespace test_symbol
