.PHONY: test-standalone

# The README's first command (scripts/up.sh) in a temporary data directory, checked as a user would.
test-standalone: deps build
	scripts/run-jest.sh test/standalone/
