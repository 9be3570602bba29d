"""Reports how many (route, role, scope) cells the route matrix checked."""

import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the matrix size after the run (works under xdist: properties travel in reports)."""
    cells = 0
    for report in terminalreporter.stats.get("passed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "route_matrix_cells":
                cells += int(value)
    if cells:
        terminalreporter.write_line(
            f"route matrix: {cells} (route, role, scope) cells checked across backends"
        )
