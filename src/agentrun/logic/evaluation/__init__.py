"""Evaluation: cases and their scores, and paired comparisons of two versions (pure logic)."""
