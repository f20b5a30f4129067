"""The markdown report: page.render() from a run's JSON report, with the
references' sections and the stages' own."""
