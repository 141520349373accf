"""Run tests/python/test_*.py with unittest and say each result as
tests/run.sh counts them: PASS:/FAIL:/SKIP: lines.  Exit 1 on a failure."""
import os
import sys
import unittest


class LineResult(unittest.TextTestResult):
    def addSuccess(self, test):
        super().addSuccess(test)
        print("PASS: python %s" % test.id(), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print("FAIL: python %s" % test.id(), flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print("FAIL: python %s (error)" % test.id(), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("SKIP: python %s: %s" % (test.id(), reason), flush=True)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            print("FAIL: python %s" % subtest.id(), flush=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    suite = unittest.defaultTestLoader.discover(here, pattern=sys.argv[1] if len(sys.argv) > 1
                                                else "test_*.py", top_level_dir=here)
    runner = unittest.TextTestRunner(resultclass=LineResult, stream=sys.stderr, verbosity=0)
    ok = runner.run(suite).wasSuccessful()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
