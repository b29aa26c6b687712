#include "core/archive_plan.hpp"

#include <cctype>

#include "core/errors.hpp"

namespace zc::core {

namespace {

[[noreturn]] void unsupported(const std::string& text)
{
    throw Error(sqlstate::feature_not_supported, "unsupported partition bound: " + text.substr(0, 200),
                "the archive mover handles RANGE partitions on one column (and DEFAULT partitions)");
}

class Reader {
public:
    explicit Reader(const std::string& text) : text_(text) {}

    void skip_spaces()
    {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }
    bool keyword(const char* word)
    {
        skip_spaces();
        std::string w(word);
        if (text_.compare(pos_, w.size(), w) != 0) return false;
        size_t end = pos_ + w.size();
        if (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_'))
            return false;
        pos_ = end;
        return true;
    }
    bool punct(char c)
    {
        skip_spaces();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    // A quoted literal, possibly followed by ::type (ignored); or MINVALUE/MAXVALUE -> nullopt.
    std::optional<std::string> value(const char* unbounded)
    {
        skip_spaces();
        if (keyword(unbounded)) return std::nullopt;
        if (pos_ >= text_.size() || text_[pos_] != '\'') unsupported(text_);
        ++pos_;
        std::string out;
        for (;;) {
            if (pos_ >= text_.size()) unsupported(text_);
            char c = text_[pos_++];
            if (c == '\'') {
                if (pos_ < text_.size() && text_[pos_] == '\'') {
                    out += '\'';
                    ++pos_;
                    continue;
                }
                break;
            }
            out += c;
        }
        skip_spaces();
        if (text_.compare(pos_, 2, "::") == 0) {  // a cast such as ::date
            pos_ += 2;
            while (pos_ < text_.size() && text_[pos_] != ')' && text_[pos_] != ',') ++pos_;
        }
        return out;
    }
    bool at_end()
    {
        skip_spaces();
        return pos_ == text_.size();
    }

private:
    const std::string& text_;
    size_t pos_ = 0;
};

}  // namespace

RangeBoundText parse_range_bound(const std::string& text)
{
    Reader in(text);
    RangeBoundText bound;
    if (in.keyword("DEFAULT")) {
        if (!in.at_end()) unsupported(text);
        bound.is_default = true;
        return bound;
    }
    if (!in.keyword("FOR") || !in.keyword("VALUES") || !in.keyword("FROM") || !in.punct('(')) unsupported(text);
    bound.lower = in.value("MINVALUE");
    if (!in.punct(')') || !in.keyword("TO") || !in.punct('(')) unsupported(text);  // a ',' = several columns
    bound.upper = in.value("MAXVALUE");
    if (!in.punct(')') || !in.at_end()) unsupported(text);
    return bound;
}

PartitionMove classify_partition(const Span& span, int64_t cutoff)
{
    if (span.upper && *span.upper <= cutoff) return PartitionMove::attach;
    if (!span.lower || *span.lower < cutoff) return PartitionMove::rows;
    return PartitionMove::keep;
}

std::optional<int64_t> round_cutoff_to_partitions(const std::vector<Span>& spans, int64_t cutoff)
{
    for (const Span& span : spans) {
        bool starts_before = !span.lower || *span.lower < cutoff;
        bool ends_after = !span.upper || *span.upper > cutoff;
        if (starts_before && ends_after) return span.lower;
    }
    return cutoff;
}

bool spans_overlap(const Span& a, const Span& b)
{
    bool a_before_b = a.upper && b.lower && *a.upper <= *b.lower;
    bool b_before_a = b.upper && a.lower && *b.upper <= *a.lower;
    return !a_before_b && !b_before_a;
}

}  // namespace zc::core
