"""Figures and self-contained HTML reports."""

from ionscope.report.html import Report, Section, figure_svg

__all__ = ["Report", "Section", "figure_svg"]
