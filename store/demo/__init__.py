"""The demo retailer (`frontline demo`): generated people, source records and activity, loaded through
the real import pipeline. See store.demo.builder.build_demo."""
