#include "text_report.hpp"

#include <set>
#include <string>

#include <fmt/format.h>

#include "table_printer.hpp"

namespace sqlrep::show_all {

namespace {

std::string node_heading(const NodeFacts& node, const Palette& palette) {
    std::string heading = palette.bold("== " + node.address);
    if (!node.reachable()) return heading + " " + palette.red("UNREACHABLE: " + node.error);
    heading += fmt::format(" ({}, term {}, applied index {}", node.role.empty() ? "?" : node.role,
                           node.term, node.applied_index);
    if (!node.state.empty()) heading += ", " + node.state;
    return heading + ")";
}

// A column reads best right-aligned when all it holds are numbers.
bool is_numeric_column(const TableSample& sample, size_t column) {
    bool any = false;
    for (const auto& row : sample.rows) {
        if (column >= row.size() || row[column].is_null()) continue;
        if (!row[column].is_number()) return false;
        any = true;
    }
    return any;
}

void print_sample(std::ostream& out, const TableSample& sample, int64_t total_rows,
                  const TextReportOptions& options, const Palette& palette) {
    out << "  " << palette.bold(sample.name)
        << fmt::format(" ({} row{})", total_rows, total_rows == 1 ? "" : "s") << '\n';
    if (!sample.error.empty()) {
        out << "    " << palette.red("cannot read rows: " + sample.error) << '\n';
        return;
    }
    if (!sample.columns.empty() && (options.limit > 0 || !sample.rows.empty())) {
        TextTable table(sample.columns);
        for (size_t c = 0; c < sample.columns.size(); ++c)
            if (is_numeric_column(sample, c)) table.set_align(c, Align::right);
        for (const auto& row : sample.rows) {
            std::vector<std::string> cells;
            for (const auto& value : row) cells.push_back(cell_text(value, options.max_cell_width));
            table.add_row(std::move(cells));
        }
        out << table.render(palette, 4);
    }
    if (sample.rows_left_out > 0)
        out << "    "
            << palette.dim(fmt::format("... {} more row{} not shown (--limit {})",
                                       sample.rows_left_out, sample.rows_left_out == 1 ? "" : "s",
                                       options.limit))
            << '\n';
}

// The "vs master" cell of the summary for table `name` on nodes[i].
std::string match_text(const std::vector<NodeFacts>& nodes, size_t i, const std::string& name,
                       const Verdict& verdict) {
    if (i == verdict.reference) return "(master)";
    if (verdict.reference >= nodes.size() || !nodes[verdict.reference].reachable()) return "?";
    const NodeFacts& master = nodes[verdict.reference];
    std::string match = "same";
    for (const auto& d : verdict.differences)
        if (d.table == name && d.node == nodes[i].address) match = "DIFFERS: " + d.reason;
    if (nodes[i].checksum_index != master.checksum_index && !nodes[i].diverged())
        match += nodes[i].checksum_index < master.checksum_index ? " (lagging)" : " (ahead)";
    return match;
}

// "http://127.0.0.1:8080 (term 3), http://127.0.0.1:8081 (term 4)"
std::string describe_claims(const std::vector<MasterClaim>& masters) {
    std::string text;
    for (const auto& claim : masters)
        text += fmt::format("{}{} (term {})", text.empty() ? "" : ", ", claim.node, claim.term);
    return text;
}

}  // namespace

void print_nodes(std::ostream& out, const std::vector<NodeFacts>& nodes,
                 const TextReportOptions& options, const Palette& palette) {
    for (const auto& node : nodes) {
        out << node_heading(node, palette) << '\n';
        if (!node.reachable()) {
            out << '\n';
            continue;
        }
        if (!node.checksum_error.empty())
            out << "  " << palette.red("cannot read checksums: " + node.checksum_error) << '\n';
        else if (node.tables.empty())
            out << "  " << palette.dim("(no tables)") << '\n';
        for (size_t t = 0; t < node.tables.size() && t < node.samples.size(); ++t)
            print_sample(out, node.samples[t], node.tables[t].rows, options, palette);
        out << '\n';
    }
}

void print_summary(std::ostream& out, const std::vector<NodeFacts>& nodes, const Verdict& verdict,
                   const Palette& palette) {
    // Every table any node has, so a table missing somewhere shows as such.
    std::set<std::string> names;
    for (const auto& node : nodes)
        for (const auto& table : node.tables) names.insert(table.name);

    out << palette.bold("== summary") << '\n';
    if (names.empty()) {
        out << "  " << palette.dim("(no tables on any node)") << "\n\n";
        return;
    }
    TextTable table({"table", "node", "role", "term", "index", "rows", "checksum", "vs master"});
    table.set_align(3, Align::right);
    table.set_align(4, Align::right);
    table.set_align(5, Align::right);
    for (const auto& name : names) {
        for (size_t i = 0; i < nodes.size(); ++i) {
            const NodeFacts& node = nodes[i];
            if (!node.reachable()) {
                table.add_row({name, node.address, "", "", "", "", "", "unreachable"});
                continue;
            }
            const TableSummary* t = node.find_table(name);
            table.add_row({name, node.address, node.role.empty() ? "?" : node.role,
                           std::to_string(node.term), std::to_string(node.checksum_index),
                           t ? std::to_string(t->rows) : "-", t ? t->checksum : "(missing)",
                           match_text(nodes, i, name, verdict)});
        }
    }
    out << table.render(palette, 2) << '\n';
}

void print_verdict(std::ostream& out, const std::vector<NodeFacts>& nodes, const Verdict& verdict,
                   const Palette& palette) {
    if (verdict.masters.size() > 1) {
        out << palette.red(fmt::format("WARNING: {} nodes claim the master role: {}",
                                       verdict.masters.size(), describe_claims(verdict.masters)))
            << '\n';
        if (verdict.kind == VerdictKind::split_brain)
            out << palette.red("SPLIT BRAIN: two masters in the same term; writes may be lost")
                << '\n';
        else
            out << palette.yellow(fmt::format(
                       "NOTE: a transition (the master of the lower term steps down); compared "
                       "against {}",
                       nodes[verdict.reference].address))
                << '\n';
    }
    if (verdict.masters.empty() && verdict.reference < nodes.size() &&
        nodes[verdict.reference].reachable())
        out << palette.yellow(fmt::format("NOTE: no node claims the master role; the others were "
                                          "compared against {} ({})",
                                          nodes[verdict.reference].address,
                                          nodes[verdict.reference].role.empty()
                                              ? "role unknown"
                                              : nodes[verdict.reference].role))
            << '\n';
    // A replica read after the master may be past the master's index while writes go on.
    for (const auto& lag : verdict.lagging)
        out << palette.yellow(fmt::format("{}: {} at index {}, master at {}",
                                          lag.index < verdict.index ? "LAGGING" : "AHEAD", lag.node,
                                          lag.index, verdict.index))
            << '\n';
    for (const auto& node : nodes)
        if (!node.reachable())
            out << palette.red("UNREACHABLE: " + node.address) << " (" << node.error << ")\n";
    for (const auto& d : verdict.differences) {
        out << palette.red(fmt::format("DIVERGED: {} differs on {}", d.table, d.node)) << " ("
            << d.reason;
        if (d.lagging)
            out << fmt::format("; compared at index {}, the master at {}", d.node_index,
                               verdict.index);
        out << ")\n";
    }
    if (verdict.kind == VerdictKind::in_sync)
        out << palette.green(fmt::format("IN SYNC at index {}", verdict.index)) << '\n';
}

}  // namespace sqlrep::show_all
