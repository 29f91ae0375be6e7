"""Operations of each product (Cbn, Ram, Sts) and the pipeline that runs them."""
