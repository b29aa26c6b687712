// Pure planning logic of the archive mover (no postgres.h): reading a
// partition's bound text, rounding a cutoff down to whole partitions, and
// deciding for each partition whether it moves by metadata, by rows, or stays.
// Time values are microseconds since 1970-01-01 (what
// extract(epoch FROM value) * 1e6 gives for date, timestamp and timestamptz).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zc::core {

// A partition bound as pg_get_expr(relpartbound) prints it for a
// single-column RANGE partition: FOR VALUES FROM ('a') TO ('b'), with
// MINVALUE / MAXVALUE, or DEFAULT.  Literals are unquoted ('' -> ').
struct RangeBoundText {
    bool is_default = false;
    std::optional<std::string> lower;  // nullopt = MINVALUE
    std::optional<std::string> upper;  // nullopt = MAXVALUE
};

// Throws zc::Error (0A000) for anything but a one-column range bound or DEFAULT.
RangeBoundText parse_range_bound(const std::string& text);

// A range partition's span: [lower, upper), nullopt = unbounded.
struct Span {
    std::optional<int64_t> lower;
    std::optional<int64_t> upper;
};

enum class PartitionMove {
    keep,    // entirely at or after the cutoff
    attach,  // entirely before the cutoff: detach + attach, metadata only
    rows,    // straddles the cutoff: its older rows move row by row
};

// What happens to a partition with `span` for `cutoff` (rows with time < cutoff move).
PartitionMove classify_partition(const Span& span, int64_t cutoff);

// Rounds `cutoff` down to the lower bound of the partition that straddles it
// (so that only whole partitions move); unchanged when no partition straddles
// it.  A straddling partition without lower bound rounds to nullopt: nothing moves.
std::optional<int64_t> round_cutoff_to_partitions(const std::vector<Span>& spans, int64_t cutoff);

// True when the two half-open spans share at least one value.
bool spans_overlap(const Span& a, const Span& b);

}  // namespace zc::core
