# sample_data: zerocut.generate_sample_data(1000, 400) — 3,000 users,
# 400,000 usage rows, 2,000,000 consumption records — must load in < 60 s.
DB=bench_sample
zc_psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
zc_psql -q -d $DB -c "CREATE EXTENSION zerocut" -c "SELECT zerocut.install_domain_schema()" >/dev/null
ms=$(bench_ms $DB "SELECT zerocut.generate_sample_data(1000, 400)")
seconds=$(awk -v m="$ms" 'BEGIN { printf "%.1f", m / 1000 }')
echo "  generate_sample_data(1000, 400): ${seconds} s"
bench_note "generate_sample_data(1000, 400) after install_domain_schema(): ${seconds} s (target < 60 s)."
bench_ratio "sample_data: 60 s / load time of 1000 x 400" "$(bench_div 60000 "$ms")" ">=" 1.0
zc_psql -q -c "DROP DATABASE $DB"
